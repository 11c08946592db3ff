"""`marketplace services`: list, show, publish (an idempotent upsert) and delete services."""
from __future__ import annotations

import time
from pathlib import Path

import click

from app.console.base import ApiGroup, connect
from app.console.output import emit, output_option, print_json, print_record, print_table
from app.status import ServiceStatus
from workflows.untrusted import MAX_TEXT_BYTES, DocumentError, load_yaml

BUILT = {ServiceStatus.READY, ServiceStatus.ERROR}
SERVICE_FIELDS = [("id", "id"), ("name", "name"), ("status", "status"), ("status-message", "status-message"),
                  ("description", "description"), ("provider", lambda s: (s.get("provider") or {}).get("id")),
                  ("owner", "owner"), ("tags", "tags"), ("updated-at", "updated-at")]


@click.group(cls=ApiGroup, help="Publish, find and withdraw services.")
def services() -> None:
    pass


@services.command("list", help="""List the services you may order.

\b
Example:
  marketplace services list --filter "contains(name,'count')" --output json
""")
@click.option("--filter", "filter_", help="An OData $filter, e.g. \"provider-id eq 'urn:acme:provider:text'\".")
@click.option("--orderby", default=None, help="An OData $orderby, e.g. 'name desc'.")
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="At most this many.")
@output_option
def list_services(filter_: str | None, orderby: str | None, limit: int | None, output: str) -> None:
    page = connect().list_services(filter=filter_, orderby=orderby, limit=limit)
    if output == "json":
        print_json(page["services"])
        return
    print_table(page["services"], [("ID", "id"), ("Name", "name"), ("Description", "description"),
                                   ("Provider", lambda s: (s.get("provider") or {}).get("id"))])


@services.command("show", help="""Show a service and its parameters.

\b
Example:
  marketplace services show urn:acme:service:wc
""")
@click.argument("service_id")
@output_option
def show(service_id: str, output: str) -> None:
    emit(connect().get_service(service_id), output, _show_service)


def _show_service(service) -> None:
    print_record(service, SERVICE_FIELDS)
    print_table(service.get("parameters", []), [("Parameter", "name"), ("Type", "type"), ("Default", "default"),
                                                ("Optional", "optional"), ("Label", "label")])


@services.command("publish", help="""Publish a service from a YAML (or JSON) file: an idempotent upsert.
With --id, or an `id` in the file, the service is created or replaced under that id
(PUT ?force-create=true), so a deploy script may run it again and again; without either, a new
service is created with an id the server chooses.

\b
Example:
  marketplace services publish -f service.yaml --id urn:acme:service:wc
""")
@click.option("-f", "--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The service description (the body of POST /1/services), in YAML or JSON.")
@click.option("--id", "service_id", default=None, help="The service's id (default: the file's `id`, if any).")
@click.option("--wait", is_flag=True, help="Wait until the worker has built it: exit 0 when it is ready, "
                                           "non-zero when it ends in error.")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(1), help="Seconds --wait waits.")
@output_option
def publish(path: Path, service_id: str | None, wait: bool, timeout: float, output: str) -> None:
    description = _read_description(path)
    service_id = service_id or description.pop("id", None)
    description.pop("id", None)
    client = connect()
    service = client.update_service(service_id, description, force_create=True) if service_id \
        else client.create_service(description)
    if wait:
        service = _until_built(client, service["id"], timeout)
    if output == "json":
        print_json(service)
        return
    click.echo(f"published {service['id']} (status {service['status']})")
    if service["status"] == ServiceStatus.ERROR:
        raise click.ClickException(f"the service cannot run: {service.get('status-message', '')}")


def _until_built(client, service_id: str, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while (service := client.get_service(service_id))["status"] not in BUILT:
        if time.monotonic() > deadline:
            raise click.ClickException(f"{service_id} is still {service['status']} after {timeout:.0f}s")
        time.sleep(interval)
    return service


def _read_description(path: Path) -> dict:
    # Measured before it is parsed, as the server does: an alias bomb is refused, not expanded.
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise click.BadParameter(f"{path} is larger than {MAX_TEXT_BYTES} bytes", param_hint="--file")
    try:
        description = load_yaml(path.read_text(), "service")
    except DocumentError as error:
        raise click.BadParameter(f"{path}: {error}", param_hint="--file") from None
    if not isinstance(description, dict):
        raise click.BadParameter(f"{path} holds no mapping of the service's fields", param_hint="--file")
    return description


@services.command("delete", help="""Delete a service of yours.

\b
Example:
  marketplace services delete urn:acme:service:wc
""")
@click.argument("service_id")
def delete(service_id: str) -> None:
    connect().delete_service(service_id)
    click.echo(f"deleted {service_id}")
