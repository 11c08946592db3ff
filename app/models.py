"""Every model, imported once so that the metadata (and Alembic) sees all tables."""
from app.artifacts.models import Artifact, ArtifactUse
from app.db import Base
from app.orders.models import Order, OrderEvent, OrderLogLine, OrderTag
from app.services.models import Service, ServiceMetadata, ServiceTag
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret

metadata = Base.metadata

__all__ = ["metadata", "Artifact", "ArtifactUse", "Order", "OrderEvent", "OrderLogLine", "OrderTag", "Service",
           "ServiceMetadata", "ServiceTag", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookSecret"]
