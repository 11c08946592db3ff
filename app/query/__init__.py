"""OData-style list options, built once: a list declares its fields, this package does the rest."""
from app.query.fields import Field, PairCollection, StringCollection
from app.query.listing import ListSpec, Page
from app.query.options import ListOptionsSchema
from app.query.schemas import ListPageSchema, fetch_page

__all__ = ["Field", "ListOptionsSchema", "ListPageSchema", "ListSpec", "Page", "PairCollection",
           "StringCollection", "fetch_page"]
