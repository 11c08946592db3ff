"""A worker killed in the middle of a submit, then restarted, creates exactly one Job."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import kmock

from tests.cluster.conftest import NAMESPACE, wait_for
from tests.cluster.test_kubernetes_backend import order, publish_ready, status_of


def test_killing_the_worker_mid_submit_and_restarting_it_creates_one_job(
        alice, bob, start_worker, emulator, config, tmp_path):
    service = publish_ready(alice, start_worker())
    placed = order(bob, service["id"])  # pending: no worker runs now
    creates = []

    def stalled_create(request):
        """The API server stores the first Job, then never answers: the worker dies waiting."""
        if request.action == kmock.action.CREATE and request.resource.plural == "jobs" and not creates:
            creates.append(request)
        return bool(creates) and request is creates[0]

    emulator.call(lambda: emulator.handler[stalled_create] << (lambda: asyncio.sleep(60)))
    env = {**os.environ, "DATABASE_URL": config.database_url, "MARKETPLACE_SECRET_KEY": config.secret_key,
           "MARKETPLACE_BACKEND": "kubernetes", "MARKETPLACE_NAMESPACE": NAMESPACE, "MARKETPLACE_WORKER_PORT": "0",
           "KUBECONFIG": str(emulator.kubeconfig(tmp_path, NAMESPACE)), "MARKETPLACE_DATA_DIR": str(tmp_path)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--interval", "0.1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def job_created_while_worker_lives():
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited ({worker.returncode}): {worker.stderr.read().decode()[-2000:]}")
        return emulator.objects("jobs")

    try:
        wait_for(job_created_while_worker_lives, seconds=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert status_of(bob, placed["id"])["status"] == "pending"  # the submit never committed

    restarted = start_worker()
    wait_for(lambda: status_of(bob, placed["id"])["status"] in ("scheduled", "executing"), restarted)
    assert len(emulator.objects("jobs")) == 1
    job_creates = emulator.call(lambda: [r for r in emulator.handler
                                         if r.action == kmock.action.CREATE and r.resource.plural == "jobs"])
    assert len(job_creates) == 2  # the restarted worker's create was answered 409: already there
