"""What the supervisor and the sandbox cost an order on the local backend.

For a command that does nothing (`true`), the median time from `submit` to the backend reporting
it succeeded, with the bubblewrap sandbox and without, beside the same command run directly with
`subprocess.run` (the reference), alternating the three. BENCH_RUNS sets the number of runs.

    python -m tests.bench.bench_local_start
"""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from workflows.backends.base import Phase, Submission
from workflows.backends.local import LocalBackend
from workflows.backends.sandbox import SandboxSettings, bubblewrap_works
from workflows.settings import CompileSettings

RUNS = int(os.environ.get("BENCH_RUNS", 30))
WORKFLOW = {"type": "basic", "basic": {"image": "debian:12", "command": ["true"]}}


def order_to_end(backend: LocalBackend, order_id: str) -> float:
    began = time.perf_counter()
    backend.submit(Submission(order_id, "urn:bench:service:true", WORKFLOW, []))
    while (seen := backend.observe(order_id, 0)).phase not in (Phase.SUCCEEDED, Phase.FAILED, Phase.GONE):
        assert time.perf_counter() - began < 60, f"the order did not end in a minute: {seen}"
        time.sleep(0.002)
    assert seen.phase == Phase.SUCCEEDED, seen
    backend.forget(order_id)
    return time.perf_counter() - began


def direct() -> float:
    began = time.perf_counter()
    subprocess.run(["true"], check=True)
    return time.perf_counter() - began


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        modes = {"none": LocalBackend(CompileSettings(), Path(folder) / "none", sandbox=SandboxSettings(mode="none"))}
        if bubblewrap_works() is None:
            modes["bubblewrap"] = LocalBackend(CompileSettings(), Path(folder) / "bwrap",
                                               sandbox=SandboxSettings(mode="bubblewrap"))
        times: dict[str, list[float]] = {"direct": [], **{mode: [] for mode in modes}}
        for run in range(RUNS):
            times["direct"].append(direct())
            for mode, backend in modes.items():
                times[mode].append(order_to_end(backend, f"urn:bench:order:{mode}-{run}"))
    reference = statistics.median(times["direct"])
    for mode, samples in times.items():
        median = statistics.median(samples)
        p90 = sorted(samples)[int(len(samples) * 0.9)]
        print(f"{mode:>10}: median {median * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms"
              f"  ({median / reference:5.1f}x the direct run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
