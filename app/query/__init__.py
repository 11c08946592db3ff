"""OData-style list options, built once: a list declares its fields, this package does the rest.
No Flask here: the views hand over the request's query pairs, base URL and secret."""
from app.query.document import list_options_parameter
from app.query.fields import Field, PairCollection, StringCollection
from app.query.listing import ListSpec
from app.query.options import Bound
from app.query.schemas import ListPageSchema, item_fields

__all__ = ["Bound", "Field", "ListPageSchema", "ListSpec", "PairCollection", "StringCollection", "item_fields",
           "list_options_parameter"]
