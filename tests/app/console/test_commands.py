"""The commands for people, against the app served over HTTP: what a user types, what they read,
and the exit code a script relies on."""
from __future__ import annotations

import json
import stat
import threading
import time

import click
import pytest
from click.testing import CliRunner

from app.cli import main
from tests.app.client.test_client import make_ready
from tests.conftest import TEST_SECRET

SERVICE_YAML = """\
id: urn:acme:service:wc
name: Word count
description: Counts the words of a text
provider-id: urn:acme:provider:text
account-id: urn:acme:account:text
parameters:
  - {name: text, type: string}
workflow: {type: basic, basic: {image: python:3.11-slim, command: [python3, -c, "print(1)"]}}
"""


@pytest.fixture
def token():
    from app.auth import SharedSecretVerifier

    return SharedSecretVerifier(TEST_SECRET).issue("alice", 3600)


@pytest.fixture
def run(api_url, token, tmp_path, monkeypatch):
    """Run `marketplace ARGS…` as alice against the served app; the user's config lives in tmp_path."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("MARKETPLACE_URL", api_url)
    monkeypatch.setenv("MARKETPLACE_TOKEN", token)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result
    return invoke


def test_every_client_command_has_help_with_an_example():
    for group in ("services", "orders", "artifacts", "webhooks"):
        commands = main.commands[group].commands
        for name in commands:
            result = CliRunner().invoke(main, [group, name, "--help"])
            assert result.exit_code == 0 and "Example:" in result.stdout, (group, name)
    assert "Example:" in CliRunner().invoke(main, ["login", "--help"]).stdout


def test_login_stores_the_server_and_token_for_the_user_alone(api_url, token, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("MARKETPLACE_URL", raising=False)
    monkeypatch.delenv("MARKETPLACE_TOKEN", raising=False)
    refused = CliRunner().invoke(main, ["services", "list"])
    assert refused.exit_code != 0 and "marketplace login" in refused.stderr
    assert CliRunner().invoke(main, ["login", "--url", api_url, "--token", token]).exit_code == 0
    path = tmp_path / "marketplace" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and json.loads(path.read_text())["token"] == token
    listed = CliRunner().invoke(main, ["services", "list", "--output", "json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_publish_is_an_idempotent_upsert(run, tmp_path):
    (tmp_path / "service.yaml").write_text(SERVICE_YAML)
    assert "published urn:acme:service:wc" in run("services", "publish", "-f", "service.yaml").stdout
    again = json.loads(run("services", "publish", "-f", "service.yaml", "--output", "json").stdout)
    assert again["id"] == "urn:acme:service:wc"
    other = json.loads(run("services", "publish", "-f", "service.yaml", "--id", "urn:acme:service:wc2",
                           "-o", "json").stdout)
    assert other["id"] == "urn:acme:service:wc2"
    (tmp_path / "new.yaml").write_text(SERVICE_YAML.replace("id: urn:acme:service:wc\n", ""))
    created = json.loads(run("services", "publish", "-f", "new.yaml", "-o", "json").stdout)
    listed = json.loads(run("services", "list", "-o", "json").stdout)
    assert sorted(s["id"] for s in listed) == sorted(["urn:acme:service:wc", "urn:acme:service:wc2", created["id"]])
    shown = run("services", "show", "urn:acme:service:wc").stdout
    assert "Word count" in shown and "text" in shown
    assert "urn:acme:service:wc2" in run("services", "list").stdout  # the table
    run("services", "delete", "urn:acme:service:wc2")
    missing = run("services", "show", "urn:acme:service:wc2", code=1)
    assert "no service" in missing.stderr.lower() and "[HTTP 404]" in missing.stderr


def test_a_bad_file_is_refused_with_what_is_wrong(run, tmp_path):
    (tmp_path / "bad.yaml").write_text(SERVICE_YAML.replace("image: python:3.11-slim, ", ""))
    refused = run("services", "publish", "-f", "bad.yaml", code=1)
    assert "workflow.basic.image" in refused.stderr and "[HTTP 422]" in refused.stderr
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    assert "mapping" in run("services", "publish", "-f", "list.yaml", code=2).stderr


def test_orders_create_show_list_and_cancel(app, run, tmp_path):
    (tmp_path / "service.yaml").write_text(SERVICE_YAML)
    run("services", "publish", "-f", "service.yaml")
    not_ready = run("orders", "create", "urn:acme:service:wc", "-p", "text=a b", code=1)
    assert "ready" in not_ready.stderr and "[HTTP 409]" in not_ready.stderr
    make_ready(app, "urn:acme:service:wc")
    order = json.loads(run("orders", "create", "urn:acme:service:wc", "-p", "text=a b", "--tag", "demo",
                           "-o", "json").stdout)
    assert order["parameters"] == [{"name": "text", "value": "a b"}] and order["tags"] == ["demo"]
    assert [o["id"] for o in json.loads(run("orders", "list", "-o", "json").stdout)] == [order["id"]]
    assert order["id"] in run("orders", "list", "--service", "urn:acme:service:wc").stdout
    assert "pending" in run("orders", "show", order["id"]).stdout
    assert "cancelling" in run("orders", "cancel", order["id"]).stdout
    assert json.loads(run("orders", "show", order["id"], "-o", "json").stdout)["status"] == "cancelled"
    assert run("orders", "logs", order["id"]).stdout == ""
    events = [json.loads(line) for line in run("orders", "events", order["id"], "-o", "json").stdout.splitlines()]
    assert [(e["event"], e["status"]) for e in events] == [("status", "pending"), ("status", "cancelled")]
    after_first = run("orders", "events", order["id"], "--after", str(events[0]["id"]), "--no-follow").stdout
    assert "cancelled" in after_first and "pending" not in after_first
    assert "is not NAME=VALUE" in run("orders", "create", "urn:acme:service:wc", "-p", "text", code=2).stderr


def test_waiting_for_an_order_that_does_not_succeed_exits_non_zero(app, run, tmp_path, api_url, token):
    """No worker runs here: the order stays pending until another client cancels it."""
    from app.client import MarketplaceClient

    (tmp_path / "service.yaml").write_text(SERVICE_YAML)
    run("services", "publish", "-f", "service.yaml")
    make_ready(app, "urn:acme:service:wc")

    def cancel_once_placed():
        with MarketplaceClient(api_url, token) as client:
            deadline = time.monotonic() + 30
            while not (orders := client.list_orders()["orders"]):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            client.cancel_order(orders[0]["id"])

    canceller = threading.Thread(target=cancel_once_placed)
    canceller.start()
    waited = run("orders", "create", "urn:acme:service:wc", "-p", "text=a", "--wait", code=1)
    canceller.join(30)
    assert "pending" in waited.stdout and "cancelled" in waited.stdout
    assert "ended cancelled" in waited.stderr


def test_webhooks_add_list_secret_delete_and_a_refused_callback(app, run, tmp_path):
    added = json.loads(run("webhooks", "add", "https://93.184.215.14/hooks", "--output", "json").stdout)
    assert added["url"] == "https://93.184.215.14/hooks"
    assert [w["id"] for w in json.loads(run("webhooks", "list", "--output", "json").stdout)] == [added["id"]]
    secret = json.loads(run("webhooks", "secret", "--output", "json").stdout)["secret"]
    rotated = json.loads(run("webhooks", "secret", "--rotate", "--output", "json").stdout)
    assert secret.startswith("whsec_") and rotated["secret"] != secret and rotated["previous-valid-until"]
    assert "deleted" in run("webhooks", "delete", added["id"]).stdout
    assert json.loads(run("webhooks", "list", "--output", "json").stdout) == []
    refused = run("webhooks", "add", "http://127.0.0.1:9/", code=1)
    assert "loopback" in refused.stderr and "[HTTP 422]" in refused.stderr
    (tmp_path / "wc.yaml").write_text(SERVICE_YAML)
    run("services", "publish", "-f", "wc.yaml")
    make_ready(app, "urn:acme:service:wc")
    refused = run("orders", "create", "urn:acme:service:wc", "-p", "text=x", "--callback", "http://localhost/", code=1)
    assert "callback" in refused.stderr and "[HTTP 422]" in refused.stderr
    placed = json.loads(run("orders", "create", "urn:acme:service:wc", "-p", "text=x", "--callback",
                            "https://93.184.215.14/own", "--output", "json").stdout)
    assert placed["callback"] == "https://93.184.215.14/own"
    (delivery,) = json.loads(run("orders", "deliveries", placed["id"], "--output", "json").stdout)
    assert (delivery["type"], delivery["status"]) == ("order.pending", "pending")
    assert "order.pending" in run("orders", "deliveries", placed["id"]).stdout


def test_artifacts_upload_list_download(run, tmp_path):
    (tmp_path / "fields.csv").write_bytes(b"field,ndvi\n12,0.41\n")
    artifact = json.loads(run("artifacts", "upload", "fields.csv", "-o", "json").stdout)
    assert artifact["name"] == "fields.csv" and artifact["mime-type"] == "text/csv"
    assert "fields.csv" in run("artifacts", "list").stdout
    (tmp_path / "out").mkdir()
    run("artifacts", "download", artifact["id"], "out/copy.csv")
    assert (tmp_path / "out" / "copy.csv").read_bytes() == b"field,ndvi\n12,0.41\n"
    assert not list((tmp_path / "out").glob("*.part"))
    assert run("artifacts", "download", artifact["id"], "-").stdout == "field,ndvi\n12,0.41\n"
    run("artifacts", "download", artifact["id"])  # its own name, here
    assert (tmp_path / "fields.csv").read_bytes() == b"field,ndvi\n12,0.41\n"
    assert "[HTTP 404]" in run("artifacts", "download", "urn:marketplace:artifact:nope", "x", code=1).stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()


def test_click_is_the_command_line_library():
    assert isinstance(main, click.Group)
