"""`marketplace webhooks`: your account's default callbacks and its signing secret."""
from __future__ import annotations

import click

from app.console.base import ApiGroup, connect
from app.console.output import emit, output_option, print_json, print_record, print_table

LIST_COLUMNS = [("ID", "id"), ("URL", "url"), ("Created at", "created-at")]
SECRET_FIELDS = [("secret", "secret"), ("created-at", "created-at"), ("previous-valid-until", "previous-valid-until")]


@click.group(cls=ApiGroup, help="Signed callbacks on every status change of your orders.")
def webhooks() -> None:
    pass


@webhooks.command("list", help="""List your account's default callbacks.

\b
Example:
  marketplace webhooks list --output json
""")
@output_option
def list_webhooks(output: str) -> None:
    client = connect()
    found = [webhook for page in client.pages(client.list_webhooks()) for webhook in page["webhooks"]]
    if output == "json":
        print_json(found)
        return
    print_table(found, LIST_COLUMNS)


@webhooks.command("add", help="""Add a default callback: every status change of your orders is POSTed
to URL, signed with your secret (`marketplace webhooks secret`).

\b
Example:
  marketplace webhooks add https://hooks.example.org/marketplace
""")
@click.argument("url")
@output_option
def add(url: str, output: str) -> None:
    emit(connect().create_webhook(url), output, lambda webhook: click.echo(f"added {webhook['id']}"))


@webhooks.command("delete", help="""Remove a default callback.

\b
Example:
  marketplace webhooks delete urn:marketplace:webhook:…
""")
@click.argument("webhook_id")
def delete(webhook_id: str) -> None:
    connect().delete_webhook(webhook_id)
    click.echo(f"deleted {webhook_id}")


@webhooks.command("secret", help="""Print your signing secret (whsec_…); with --rotate, replace it first
(the previous one keeps signing alongside for a day).

\b
Example:
  marketplace webhooks secret --rotate
""")
@click.option("--rotate", is_flag=True, help="Replace the secret with a new one.")
@output_option
def secret(rotate: bool, output: str) -> None:
    client = connect()
    found = client.rotate_webhook_secret() if rotate else client.get_webhook_secret()
    emit(found, output, lambda document: print_record(document, SECRET_FIELDS))
