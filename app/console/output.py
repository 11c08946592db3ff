"""What the commands print: rich tables for people, JSON for scripts (`--output json`)."""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

OUTPUT_FORMATS = ("table", "json")

output_option = click.option("--output", "-o", "output", type=click.Choice(OUTPUT_FORMATS), default="table",
                             show_default=True, help="table for people, json for scripts.")


PIPE_WIDTH = 160  # a table written to a file or a CI log: ids whole, rows on one line


def console() -> Console:
    out = Console()
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(width=PIPE_WIDTH)
    return out


def error_console() -> Console:
    return Console(stderr=True)


def emit(document: Any, output: str, for_people: Callable[[Any], None]) -> None:
    """The document as JSON for scripts (--output json), or as `for_people` shows it."""
    if output == "json":
        print_json(document)
    else:
        for_people(document)


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def print_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str | Callable[[Mapping], Any]]],
                title: str | None = None) -> None:
    """One row per item; a column is (heading, key) or (heading, function of the item). The first
    column (the id) is never wrapped, so it can be copied whole; the others fold to fit."""
    table = Table(title=title, header_style="bold")
    for index, (heading, _) in enumerate(columns):
        table.add_column(heading, overflow="fold", no_wrap=index == 0)
    for row in rows:
        table.add_row(*(_cell(row, key) for _, key in columns))
    console().print(table)


def print_record(record: Mapping[str, Any], fields: Sequence[tuple[str, str | Callable[[Mapping], Any]]]) -> None:
    """One item as a two-column table of its fields."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for heading, key in fields:
        table.add_row(heading, _cell(record, key))
    console().print(table)


def _cell(row: Mapping[str, Any], key: str | Callable[[Mapping], Any]) -> str:
    value = key(row) if callable(key) else row.get(key)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def status_style(status: str) -> str:
    return {"succeeded": "green", "ready": "green", "failed": "red", "error": "red",
            "cancelled": "yellow"}.get(status, "cyan")
