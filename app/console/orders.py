"""`marketplace orders`: place an order (and wait for it), list, show, cancel and read logs."""
from __future__ import annotations

import json

import click

from app.console.base import ApiGroup, connect
from app.console.follow import EventFeed
from app.console.output import emit, output_option, print_json, print_record, print_table
from app.console.progress import format_event, format_line, watch
from app.status import OrderStatus

ORDER_FIELDS = [("id", "id"), ("name", "name"), ("service", lambda o: o["service"]["id"]), ("status", "status"),
                ("status-message", "status-message"), ("ordered-at", "ordered-at"), ("started-at", "started-at"),
                ("finished-at", "finished-at"), ("tags", "tags"),
                ("callback", "callback"),
                ("parameters", lambda o: [f"{p['name']}={p['value']}" for p in o.get("parameters", [])]),
                ("products", lambda o: [p.get("name") or p["id"] for p in o.get("products", [])])]
LIST_COLUMNS = [("ID", "id"), ("Service", lambda o: o["service"]["id"]), ("Status", "status"),
                ("Ordered at", "ordered-at"), ("Name", "name")]


@click.group(cls=ApiGroup, help="Order services and follow the orders.")
def orders() -> None:
    pass


def _parameter(_ctx, _param, values: tuple[str, ...]) -> list[dict]:
    parameters = []
    for value in values:
        name, equals, text = value.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE")
        parameters.append({"name": name, "value": text})
    return parameters


@orders.command("create", help="""Order SERVICE with parameter values. With --wait, show its progress
(status, time waited, newest log lines) until it ends, and exit 0 only when it succeeded.

\b
Example:
  marketplace orders create urn:acme:service:wc -p text="to be or not" --wait
""")
@click.argument("service_id", metavar="SERVICE")
@click.option("-p", "--parameter", "parameters", multiple=True, callback=_parameter, metavar="NAME=VALUE",
              help="A parameter's value (repeat for each).")
@click.option("--name", default=None, help="A label for the order.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for each).")
@click.option("--callback", default=None, metavar="URL",
              help="POST the order, signed, to URL on each change of its status (see `marketplace webhooks`).")
@click.option("--wait", is_flag=True, help="Follow the order to its end; the exit code says whether it succeeded.")
@output_option
def create(service_id: str, parameters: list[dict], name: str | None, tags: tuple[str, ...], callback: str | None,
           wait: bool, output: str) -> None:
    client = connect()
    request = {"service-id": service_id, "parameters": parameters, **({"name": name} if name else {}),
               **({"tags": list(tags)} if tags else {}), **({"callback": callback} if callback else {})}
    order = client.create_order(request)
    if wait:
        order = (watch(EventFeed(client, order["id"])) if output == "table"
                 else list(EventFeed(client, order["id"]).updates())[-1]).order
    if output == "json":
        print_json(order)
    elif not wait:
        click.echo(f"ordered {order['id']} (status {order['status']})")
    if wait and order["status"] != OrderStatus.SUCCEEDED:
        message = f": {order['status-message']}" if order.get("status-message") else ""
        raise click.ClickException(f"order {order['id']} ended {order['status']}{message}")


@orders.command("list", help="""List your orders, newest first.

\b
Example:
  marketplace orders list --filter "status eq 'succeeded'" --limit 5 --output json
""")
@click.option("--filter", "filter_", help="An OData $filter, e.g. \"status eq 'failed'\".")
@click.option("--service", "service_id", default=None, help="Only the orders of this service.")
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="At most this many.")
@output_option
def list_orders(filter_: str | None, service_id: str | None, limit: int | None, output: str) -> None:
    client = connect()
    page = client.list_service_orders(service_id, filter=filter_, limit=limit) if service_id \
        else client.list_orders(filter=filter_, limit=limit)
    if output == "json":
        print_json(page["orders"])
        return
    print_table(page["orders"], LIST_COLUMNS)


@orders.command("show", help="""Show an order: status, parameters, products.

\b
Example:
  marketplace orders show urn:marketplace:order:…
""")
@click.argument("order_id")
@output_option
def show(order_id: str, output: str) -> None:
    emit(connect().get_order(order_id), output, lambda order: print_record(order, ORDER_FIELDS))


@orders.command("cancel", help="""Cancel an order: a pending one ends at once, a running one soon after.

\b
Example:
  marketplace orders cancel urn:marketplace:order:…
""")
@click.argument("order_id")
@output_option
def cancel(order_id: str, output: str) -> None:
    emit(connect().cancel_order(order_id), output,
         lambda order: click.echo(f"cancelling {order['id']} (status {order['status']})"))


@orders.command("logs", help="""Print an order's log lines; with --follow, print new ones as they come
until the order ends. With --output json, one JSON object per line.

\b
Example:
  marketplace orders logs urn:marketplace:order:… --follow
""")
@click.argument("order_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the order ends.")
@output_option
def logs(order_id: str, follow: bool, output: str) -> None:
    client = connect()
    feed = EventFeed(client, order_id)
    updates = feed.updates() if follow else iter([next(feed.updates())])
    for update in updates:
        for line in update.new_lines:
            click.echo(json.dumps(line, sort_keys=True) if output == "json" else format_line(line))


@orders.command("events", help="""Print an order's events as they happen, until it ends (server-sent
events: status changes, log batches, steps, products). With --after ID, only those after the
event ID (a reconnecting script passes the last id it printed).

\b
Example:
  marketplace orders events urn:marketplace:order:… --output json
""")
@click.argument("order_id")
@click.option("--after", "last_event_id", type=click.IntRange(min=0), help="Only events after this event id.")
@click.option("--no-follow", is_flag=True, help="Print the events there are, then stop.")
@output_option
def events(order_id: str, last_event_id: int | None, no_follow: bool, output: str) -> None:
    for event in connect().follow_order_events(order_id, last_event_id=last_event_id, follow=not no_follow):
        click.echo(json.dumps(event, sort_keys=True) if output == "json" else format_event(event))


DELIVERY_COLUMNS = [("ID", "id"), ("Type", "type"), ("URL", "url"), ("Status", "status"),
                    ("Attempts", lambda d: len(d["attempts"])),
                    ("Last answer", lambda d: (d["attempts"][-1].get("status-code") or d["attempts"][-1].get("error"))
                     if d["attempts"] else "")]


@orders.command("deliveries", help="""List the webhook deliveries of an order, with their attempts.

\b
Example:
  marketplace orders deliveries urn:marketplace:order:… --output json
""")
@click.argument("order_id")
@output_option
def deliveries(order_id: str, output: str) -> None:
    client = connect()
    found = [item for page in client.pages(client.list_order_deliveries(order_id)) for item in page["deliveries"]]
    if output == "json":
        print_json(found)
        return
    print_table(found, DELIVERY_COLUMNS)
