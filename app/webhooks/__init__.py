"""Signed webhooks: an account's default callbacks and signing secret, and the deliveries of an
order's status changes to its callbacks (sent by the worker's dispatcher, app.worker.webhooks).
Importing the package registers the hook that turns status events into deliveries."""
from app.webhooks import deliveries as deliveries  # registers the flush hook
