"""`marketplace artifacts`: upload files, list them, download content (streamed both ways)."""
from __future__ import annotations

import mimetypes
import sys
from pathlib import Path

import click

from app.console.base import ApiGroup, connect
from app.console.output import output_option, print_json, print_table


@click.group(cls=ApiGroup, help="Upload data to order with, download what orders produced.")
def artifacts() -> None:
    pass


@artifacts.command("upload", help="""Upload a file as an artifact (streamed: any size within your quota).

\b
Example:
  marketplace artifacts upload fields.csv
""")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="The artifact's name (default: the file's).")
@click.option("--mime-type", default=None, help="Its media type (default: guessed from the file's name).")
@output_option
def upload(path: Path, name: str | None, mime_type: str | None, output: str) -> None:
    mime_type = mime_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as file:
        artifact = connect().upload_artifact(file, name=name or path.name, mime_type=mime_type)
    if output == "json":
        print_json(artifact)
        return
    click.echo(f"uploaded {artifact['id']} ({artifact.get('size')} bytes, {artifact['mime-type']})")


@artifacts.command("download", help="""Download an artifact's content into PATH (default: its name, here;
`-` for standard output).

\b
Example:
  marketplace artifacts download urn:marketplace:artifact:… result.txt
""")
@click.argument("artifact_id")
@click.argument("path", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
def download(artifact_id: str, path: Path | None) -> None:
    client = connect()
    if str(path) == "-":
        client.download_artifact(artifact_id, sys.stdout.buffer)
        return
    if path is None:
        # Only the base name of what the server calls it: never a path it chose.
        path = Path(Path(client.get_artifact(artifact_id).get("name") or "artifact").name)
    partial = path.with_name(path.name + ".part")  # a broken download never looks like a whole file
    try:
        with partial.open("wb") as file:
            size = client.download_artifact(artifact_id, file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    click.echo(f"downloaded {size} bytes to {path}", err=True)


@artifacts.command("list", help="""List your artifacts: uploads and the products of your orders.

\b
Example:
  marketplace artifacts list --output json
""")
@click.option("--filter", "filter_", help="An OData $filter, e.g. \"mime-type eq 'text/csv'\".")
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="At most this many.")
@output_option
def list_artifacts(filter_: str | None, limit: int | None, output: str) -> None:
    page = connect().list_artifacts(filter=filter_, limit=limit)
    if output == "json":
        print_json(page["artifacts"])
        return
    print_table(page["artifacts"], [("ID", "id"), ("Name", "name"), ("Status", "status"), ("Size", "size"),
                                    ("Type", "mime-type"), ("Created at", "created-at")])
