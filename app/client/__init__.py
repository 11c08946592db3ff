"""A typed Python client of the marketplace API (httpx; no Flask, SQLAlchemy or server code):

    from app.client import MarketplaceClient, ApiError
    with MarketplaceClient("http://127.0.0.1:8080", token) as client:
        service = client.get_service("urn:acme:service:wc")
"""
from app.client.api import MarketplaceClient, operation
from app.client.errors import ApiError

__all__ = ["ApiError", "MarketplaceClient", "operation"]
