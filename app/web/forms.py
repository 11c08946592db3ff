"""The order form of a service, generated from its parameter definitions: one field per
parameter, filled from the defaults or from what the person typed, turned into the same order
request the API reads (checked by the API's own schema), and a refusal put beside its field."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma

from app.api_errors import ApiError
from app.orders.schemas import OrderRequestSchema

FIELD_PREFIX = "param-"
MAX_TAGS_TEXT = 64 * 130  # as many tags as an order may carry, each at its longest, with separators


@dataclass
class FormField:
    """One input of the form: what the template needs to draw it and what the person gave."""

    name: str
    kind: str  # the parameter's type, or "name"/"tags" for the order's own fields
    label: str
    value: str = ""
    help: str | None = None
    description: str | None = None
    unit: str | None = None
    options: list[dict[str, str]] = field(default_factory=list)
    optional: bool = False
    constant: bool = False
    error: str | None = None

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name if self.kind not in ("name", "tags") else self.kind

    @property
    def input_id(self) -> str:
        return "field-" + self.input_name

    @property
    def required(self) -> bool:
        return not self.optional and not self.constant and self.kind not in ("name", "tags", "bool")


@dataclass
class OrderForm:
    parameters: list[FormField]
    name: FormField
    tags: FormField
    error: str | None = None  # a refusal that names no field of the form

    @classmethod
    def of(cls, definitions: list[dict[str, Any]], submitted: Mapping[str, str] | None = None) -> OrderForm:
        """The form of these definitions: blank (defaults filled in), or as submitted."""
        fields = []
        for definition in definitions:
            default = definition.get("default")
            item = FormField(name=definition["name"], kind=definition["type"],
                             label=definition.get("label") or definition["name"], help=definition.get("help"),
                             description=definition.get("description"), unit=definition.get("unit"),
                             options=definition.get("options") or [], optional=bool(definition.get("optional")),
                             constant=bool(definition.get("constant")),
                             value="" if default is None else str(default))
            if submitted is not None and not item.constant:
                item.value = _submitted_value(item, submitted)
            fields.append(item)
        submitted = submitted or {}
        return cls(fields, FormField("name", "name", "Order name", value=submitted.get("name", "")),
                   FormField("tags", "tags", "Tags", value=submitted.get("tags", ""),
                             help="Labels of your own for this order, separated by commas."))

    def order_request(self, service_id: str) -> dict[str, Any]:
        """The order request as the API reads it, or ma.ValidationError (see `refuse`)."""
        document: dict[str, Any] = {"service-id": service_id, "parameters": [
            {"name": item.name, "value": item.value} for item in self.parameters
            if not item.constant and item.value != ""]}
        if self.name.value.strip():
            document["name"] = self.name.value.strip()
        if len(self.tags.value) > MAX_TAGS_TEXT:
            raise ma.ValidationError({"tags": [f"at most {MAX_TAGS_TEXT} characters"]})
        document["tags"] = [tag.strip() for tag in self.tags.value.split(",") if tag.strip()]
        return OrderRequestSchema().load(document)

    def _field_named(self, name: str | None) -> FormField | None:
        for item in (*self.parameters, self.name, self.tags):
            if name in (item.name, f"parameters.{item.name}"):
                return item
        return None

    def refuse(self, error: ApiError | ma.ValidationError) -> None:
        """Put the refusal beside the field it names, or above the form when it names none."""
        if isinstance(error, ma.ValidationError):
            self._refuse_invalid(error.normalized_messages())
            return
        item = self._field_named(error.name)
        if item is not None:
            item.error = error.message
        else:
            self.error = error.message

    def _refuse_invalid(self, messages: dict) -> None:
        sent = [item for item in self.parameters if not item.constant and item.value != ""]
        for key, problem in messages.items():
            if key == "parameters" and isinstance(problem, dict):
                for index, inner in problem.items():
                    if isinstance(index, int) and index < len(sent):
                        sent[index].error = _first_message(inner)
            elif (item := self._field_named(key)) is not None:
                item.error = _first_message(problem)
            else:
                self.error = f"{key}: {_first_message(problem)}"

    @property
    def has_errors(self) -> bool:
        return self.error is not None or any(item.error for item in (*self.parameters, self.name, self.tags))


def _submitted_value(item: FormField, submitted: Mapping[str, str]) -> str:
    if item.kind == "bool":  # an unticked box sends nothing
        return "true" if submitted.get(item.input_name) == "true" else "false"
    return submitted.get(item.input_name, "").strip() if item.kind != "string" else \
        submitted.get(item.input_name, "")


def _first_message(problem: Any) -> str:
    while isinstance(problem, dict):
        problem = next(iter(problem.values()), "not valid")
    if isinstance(problem, list):
        return "; ".join(str(part) for part in problem) if problem else "not valid"
    return str(problem)
