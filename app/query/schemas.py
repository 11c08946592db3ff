"""Rendering a page: `$select` trims the items of the page's schema."""
from __future__ import annotations

import marshmallow as ma

from app.common_schemas import NavLinksSchema
from app.query.rendering import compiled_dump

ALWAYS_SELECTED = ("id", "links")


def item_fields(schema: type[ma.Schema]) -> tuple[str, ...]:
    """Every field a list item shows, by its JSON name: what `$select` may name."""
    return tuple(field.data_key or name for name, field in schema().fields.items())


def list_item_schema(schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """`schema` as a list's items: `$select` may leave out any field but id and links, so the
    document requires only those (rendering is unchanged)."""
    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        schema.on_bind_field(self, field_name, field_obj)
        field_obj.required = (field_obj.data_key or field_name) in ALWAYS_SELECTED

    return type(name, (schema,), {"on_bind_field": on_bind_field, "__doc__": f"{schema.__doc__ or ''} "
                                  "In a list, $select may leave out any field but id and links.".strip()})


class ListPageSchema(ma.Schema):
    """A list response, rendered from a Page; subclasses declare their items field, named in
    ITEMS, with attribute="items"."""

    ITEMS = "items"

    links = ma.fields.Nested(NavLinksSchema, required=True)

    def dump(self, obj, *, many=None):
        """What marshmallow's dump gives, from the schema compiled once (app.query.rendering)."""
        if many if many is not None else self.many:
            return super().dump(obj, many=True)
        return compiled_dump(self)(obj)

    def dump_item(self, item) -> dict:
        """One item as the page renders it (without $select)."""
        return compiled_dump(self.fields[self.ITEMS].inner.schema)(item)

    @ma.post_dump(pass_original=True)
    def _apply_select(self, data, page, **_kwargs):
        if page.select:
            keep = set(page.select) | set(ALWAYS_SELECTED)
            data[self.ITEMS] = [{k: v for k, v in item.items() if k in keep} for item in data[self.ITEMS]]
        return data
