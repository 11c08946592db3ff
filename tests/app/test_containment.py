"""A hostile order, on the default configuration of `make serve`: it tries to read the server's
secret key, print the server's environment, open its database, read another order's folder,
write outside its own folder and signal the server. Each attempt is refused, and its logs say so."""
from __future__ import annotations

import json

import pytest

from tests.serving import Api, Process, clean_environment, free_port, token_for, wait_until
from workflows.backends.runs import RunFolder
from workflows.backends.sandbox import bubblewrap_works

ATTACK = r"""
import json, os, signal, sqlite3, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))

def attempt(name, action):
    try:
        print(f"{name}: DONE {action()!r}"[:300], flush=True)
    except Exception as error:
        print(f"{name}: refused ({type(error).__name__}: {error})", flush=True)

attempt("read the secret key", lambda: open(args["--secret"]).read())
print("environment: " + json.dumps(dict(os.environ)), flush=True)
attempt("open the database", lambda: sqlite3.connect(f"file:{args['--database']}?mode=ro", uri=True)
        .execute("select count(*) from orders").fetchall())
attempt("read another order's folder", lambda: open(os.path.join(args["--other"], "private.txt")).read())
attempt("write outside its folder", lambda: open(args["--outside"], "w").write("pwned"))
attempt("write to the system", lambda: open("/usr/pwned", "w").write("pwned"))
attempt("signal the server", lambda: os.kill(int(args["--server"]), signal.SIGTERM))
"""
PARAMETERS = ["secret", "database", "other", "outside", "server"]
DOCUMENTED_ENVIRONMENT = {"PATH", "HOME", "PWD", "LANG", "LC_CTYPE", "MARKETPLACE_ORDER_ID", "MARKETPLACE_SERVICE_ID",
                          "MARKETPLACE_INPUTS_DIR", "MARKETPLACE_OUTPUTS_DIR"}


def service(name, code, parameters=()):
    return {"name": name, "description": name, "provider-id": "urn:acme:provider:p", "account-id": "urn:acme:account:p",
            "parameters": [{"name": p, "type": "string"} for p in parameters],
            "workflow": {"type": "basic", "basic": {"image": "python:3.11-slim", "command": ["python3", "-c", code]}}}


def run_order(api, service_id, values):
    status, order = api.call("POST", "/1/orders", {"service-id": service_id, "parameters": [
        {"name": name, "value": str(value)} for name, value in values.items()]})
    assert status == 201, order
    done = wait_until(lambda: (o := api.call("GET", f"/1/orders/{order['id']}")[1]).get("finished-at") and o,
                      what=f"order {order['id']} ends")
    logs = api.call("GET", f"/1/orders/{order['id']}/logs?limit=100")[1]["items"]
    return done, [line["message"] for line in logs]


def publish_ready(api, description):
    status, published = api.call("POST", "/1/services", description)
    assert status == 201, published
    built = wait_until(lambda: (s := api.call("GET", f"/1/services/{published['id']}")[1])["status"] != "pending" and s,
                       what="the service is built")
    assert built["status"] == "ready", built
    return published["id"]


NO_SANDBOX = bubblewrap_works()  # why bubblewrap cannot run here (.ci/run installs it), or None


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox on this machine: {NO_SANDBOX}")
def test_a_hostile_order_can_touch_nothing_of_the_server_or_other_orders(tmp_path):
    port = free_port()
    env = clean_environment(tmp_path)
    server = Process(["serve", "--port", str(port)], env, tmp_path, tmp_path / "serve.log").start()
    try:
        api = Api(f"http://127.0.0.1:{port}", token_for("mallory", env, tmp_path))
        wait_until(api.answers, what="the server answers")
        writer = publish_ready(api, service("Writer", "open('private.txt', 'w').write('victim data')"))
        victim, _ = run_order(api, writer, {})
        assert victim["status"] == "succeeded"
        victim_folder = RunFolder(tmp_path / "runs", victim["id"]).work
        assert (victim_folder / "private.txt").read_text() == "victim data"

        attacker = publish_ready(api, service("Attack", ATTACK, PARAMETERS))
        done, lines = run_order(api, attacker, {
            "secret": tmp_path / ".marketplace-secret-key", "database": tmp_path / "marketplace.db",
            "other": victim_folder, "outside": tmp_path / "pwned", "server": server.process.pid})
        assert api.answers(), "the server was stopped"
    finally:
        server.stop()
    assert done["status"] == "succeeded", (done, lines)
    attempts = [line for line in lines if not line.startswith("environment: ")]
    assert len(attempts) == 6 and all(": refused (" in line for line in attempts), attempts
    [environment] = [json.loads(line.removeprefix("environment: ")) for line in lines
                     if line.startswith("environment: ")]
    assert set(environment) <= DOCUMENTED_ENVIRONMENT, environment
    secret = (tmp_path / ".marketplace-secret-key").read_text().strip()
    assert not any(secret in line for line in lines)
    assert not (tmp_path / "pwned").exists()
