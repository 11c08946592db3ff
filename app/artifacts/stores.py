"""The one place that picks the artifact store from the configuration."""
from __future__ import annotations

from app.artifacts.storage import FolderStore, Store
from app.config import Config


def make_store(config: Config) -> Store:
    return FolderStore(config.artifacts_dir)
