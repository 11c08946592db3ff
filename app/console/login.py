"""`marketplace login`: remember the server and the token for the commands that follow."""
from __future__ import annotations

import click

from app.console import settings


@click.command(help="""Store the server's address and your token in your config file
(readable by you alone), for the commands that follow. MARKETPLACE_URL and MARKETPLACE_TOKEN,
when set, take precedence.

\b
Example:
  marketplace login --url http://127.0.0.1:8080 --token "$(marketplace token --account alice | tail -n 1)"
""")
@click.option("--url", required=True, help="The API's base address, e.g. http://127.0.0.1:8080.")
@click.option("--token", prompt=True, hide_input=True, help="A bearer token (prompted for when not given).")
def login(url: str, token: str) -> None:
    path = settings.save(settings.Login(url=url.rstrip("/"), token=token))
    click.echo(f"logged in to {url}; stored in {path}")
