"""OData-style list options, built once: a list declares its fields, this package does the rest."""
from app.query.document import list_options_parameter
from app.query.fields import Field, PairCollection, StringCollection
from app.query.listing import ListSpec, Page
from app.query.schemas import ListPageSchema, fetch_page, item_fields

__all__ = ["Field", "ListPageSchema", "ListSpec", "Page", "PairCollection", "StringCollection", "fetch_page",
           "item_fields", "list_options_parameter"]
