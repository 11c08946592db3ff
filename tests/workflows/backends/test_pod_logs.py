"""An order's pod logs as one append-only, bounded sequence of lines; the pods of each order and
since when they are stuck; the deadlines of looks no event prompts."""
from __future__ import annotations

import pytest

from workflows.backends.cluster_status import PodView
from workflows.backends.deadlines import Deadlines
from workflows.backends.pod_logs import LogReader, bounded_lines
from workflows.backends.pods import OrderPods

ORDER = "urn:marketplace:order:1"


def line(n: int, text: str | None = None) -> str:
    return f"2026-11-23T10:00:{n:02d}Z {text or f'line {n}'}\n"


def test_lines_are_kept_while_they_fit_the_budget_as_sent():
    raw = (line(1) + line(2)).encode()  # 28 bytes each, newline included
    kept = bounded_lines(raw, 100, "main", complete=False)
    assert [entry.message for entry in kept.lines] == ["line 1", "line 2"] and (kept.size, kept.cut) == (56, False)
    assert kept.lines[0].time.isoformat() == "2026-11-23T10:00:01+00:00" and kept.lines[0].task == "main"
    cut = bounded_lines(raw, 55, "main", complete=False)
    assert [entry.message for entry in cut.lines] == ["line 1"] and (cut.size, cut.cut) == (28, True)


def test_an_unterminated_line_waits_for_its_newline_unless_the_pod_has_ended():
    raw = (line(1) + "2026-11-23T10:00:02Z half").encode()
    assert [entry.message for entry in bounded_lines(raw, 100, "main", complete=False).lines] == ["line 1"]
    assert [entry.message for entry in bounded_lines(raw, 100, "main", complete=True).lines] == ["line 1", "half"]


def test_more_than_the_budget_read_means_the_cut_falls_in_what_was_read():
    raw = (line(1) + "2026-11-23T10:00:02Z " + "x" * 100).encode()[:41]  # limitBytes = budget + 1 = 41
    kept = bounded_lines(raw, 40, "main", complete=True)
    assert [entry.message for entry in kept.lines] == ["line 1"] and kept.cut


class FakePods:
    """The cluster's pod logs; counts reads per pod."""

    def __init__(self):
        self.logs: dict[str, str] = {}
        self.reads: list[str] = []

    def pod_log(self, name, container, limit_bytes):
        self.reads.append(name)
        return self.logs[name].encode()[:limit_bytes] if name in self.logs else None


def pod(name, finished=False, created="2026-11-23T10:00:00Z", task=None):
    return PodView(name=name, order_id=ORDER, created=created, finished=finished, waiting=None, stuck=False, task=task)


class Worker:
    """Stores what it is handed, as the real worker does, and counts what it keeps."""

    def __init__(self, reader):
        self.reader, self.kept = reader, []

    def observe(self, pods, ended=False):
        self.kept += [entry.message for entry in self.reader.read(ORDER, pods, len(self.kept), ended)]


def test_parallel_pods_never_interleave_and_a_restarted_worker_continues_where_it_stopped():
    cluster = FakePods()
    worker = Worker(LogReader(cluster, 10_000, poll_seconds=0))
    first, second = pod("a", created="2026-11-23T10:00:00Z"), pod("b", created="2026-11-23T10:00:01Z")
    cluster.logs = {"a": line(1, "a1"), "b": line(2, "b1")}
    worker.observe([second, first])
    assert worker.kept == ["a1"]  # b waits until a has finished
    cluster.logs["a"] += line(3, "a2")
    cluster.logs["b"] += line(4, "b2")
    worker.observe([first, second])
    assert worker.kept == ["a1", "a2"]
    restarted = Worker(LogReader(cluster, 10_000, poll_seconds=0))
    restarted.kept = list(worker.kept)
    restarted.observe([pod("a", finished=True), second])
    assert restarted.kept == ["a1", "a2", "b1", "b2"]
    restarted.observe([pod("a", finished=True), pod("b", finished=True)], ended=True)
    assert restarted.kept == ["a1", "a2", "b1", "b2"]


def test_a_finished_pod_is_not_read_again_once_its_lines_are_kept():
    cluster = FakePods()
    worker = Worker(LogReader(cluster, 10_000, poll_seconds=0))
    cluster.logs = {"a": line(1), "b": line(2)}
    pods = [pod("a", finished=True), pod("b", created="2026-11-23T10:00:01Z")]
    worker.observe(pods)
    cluster.logs["b"] += line(3)
    cluster.reads.clear()
    worker.observe(pods)
    assert cluster.reads == ["b"] and worker.kept == ["line 1", "line 2", "line 3"]


def test_past_the_bound_one_line_says_the_output_was_cut_and_nothing_more_comes():
    cluster = FakePods()
    worker = Worker(LogReader(cluster, 60, poll_seconds=0))
    cluster.logs = {"a": line(1)}
    worker.observe([pod("a")])
    cluster.logs["a"] += line(2) + line(3)
    worker.observe([pod("a")])
    assert worker.kept == ["line 1", "line 2", "[marketplace] output cut: more than 60 bytes"]
    cluster.logs["a"] += line(4)
    cluster.reads.clear()
    worker.observe([pod("a", finished=True)], ended=True)
    assert cluster.reads == [] and len(worker.kept) == 3
    again = Worker(LogReader(cluster, 60, poll_seconds=0))  # after a restart, the cut falls on the same line
    again.kept = worker.kept[:1]
    again.observe([pod("a", finished=True)], ended=True)
    assert again.kept == worker.kept


def test_a_pod_whose_log_cannot_be_read_holds_back_later_pods_until_the_order_ends():
    cluster = FakePods()
    worker = Worker(LogReader(cluster, 10_000, poll_seconds=0))
    cluster.logs = {"b": line(1, "b1")}
    pods = [pod("a"), pod("b", finished=True, created="2026-11-23T10:00:01Z", task="wf[1].b")]
    worker.observe(pods)
    assert worker.kept == []
    worker.observe(pods, ended=True)
    assert worker.kept == ["b1"]


def test_reads_of_a_running_order_are_due_every_poll_interval():
    now = [0.0]
    reader = LogReader(FakePods(), 10_000, poll_seconds=5, clock=lambda: now[0])
    assert reader.due(ORDER)
    reader.read(ORDER, [], 0, ended=False)
    now[0] = 4.9
    assert not reader.due(ORDER)
    now[0] = 5
    assert reader.due(ORDER)


def test_deadlines_come_up_once_and_earliest_wins():
    deadlines = Deadlines()
    deadlines.arm("a", 10)
    deadlines.arm("a", 20)  # later: a is due at 10 still
    deadlines.arm("b", 15)
    deadlines.arm("c", 5)
    deadlines.forget("c")
    assert deadlines.pop_due(9) == set()
    assert deadlines.pop_due(15) == {"a", "b"}
    assert deadlines.pop_due(100) == set()
    deadlines.arm("a", 30)
    assert deadlines.pop_due(30) == {"a"}


def k8s_pod(name, reason=None, order_id=ORDER, managed=True):
    status = {"phase": "Pending"}
    if reason:
        status["containerStatuses"] = [{"name": "main", "state": {"waiting": {"reason": reason}}}]
    return {"metadata": {"name": name, "creationTimestamp": "2026-11-23T10:00:00Z",
                         "labels": {"app.kubernetes.io/managed-by": "marketplace"} if managed else {},
                         "annotations": {"marketplace/order-id": order_id} if order_id else {}}, "status": status}


def test_an_order_is_stuck_from_when_a_pod_was_first_seen_stuck_until_none_is():
    now = [100.0]
    pods = OrderPods(lambda: now[0])
    assert pods.apply("ADDED", k8s_pod("p", "ErrImagePull")) == ORDER
    now[0] = 130
    assert pods.apply("MODIFIED", k8s_pod("p", "ImagePullBackOff")) == ORDER
    assert pods.stuck_since(ORDER) == 100  # one reason that will not heal after another
    assert pods.apply("MODIFIED", k8s_pod("p", "ImagePullBackOff")) is None  # nothing new to say
    assert pods.apply("MODIFIED", k8s_pod("p", "ContainerCreating")) == ORDER
    assert pods.stuck_since(ORDER) is None
    assert [view.waiting for view in pods.of(ORDER)] == ["ContainerCreating"]
    assert pods.apply("DELETED", k8s_pod("p")) == ORDER and pods.of(ORDER) == []


@pytest.mark.parametrize("foreign", [k8s_pod("x", managed=False), k8s_pod("y", order_id=None)])
def test_pods_that_are_not_an_orders_are_ignored(foreign):
    pods = OrderPods(lambda: 0.0)
    assert pods.apply("ADDED", foreign) is None and pods.replace([foreign]) == set()


def test_a_relist_replaces_the_picture_and_names_the_orders_that_changed():
    pods = OrderPods(lambda: 0.0)
    pods.apply("ADDED", k8s_pod("p", "ImagePullBackOff"))
    pods.apply("ADDED", k8s_pod("q", order_id="urn:marketplace:order:2"))
    assert pods.replace([k8s_pod("q", order_id="urn:marketplace:order:2"),
                         k8s_pod("r", order_id="urn:marketplace:order:3")]) == {ORDER, "urn:marketplace:order:3"}
    assert pods.of(ORDER) == [] and pods.stuck_since(ORDER) is None
