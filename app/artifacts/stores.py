"""The one place that picks the artifact store from the configuration."""
from __future__ import annotations

from app.artifacts.storage import FolderStore, Store
from app.config import Config


def make_store(config: Config) -> Store:
    """An S3-compatible object store when a bucket is configured, else a folder in the data folder."""
    if config.artifacts.s3 is None:
        return FolderStore(config.artifacts_dir)
    from app.artifacts.s3 import S3Store  # boto3 is imported only where S3 is configured
    return S3Store(config.artifacts.s3)
