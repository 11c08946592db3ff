"""The services resource: what providers publish."""
