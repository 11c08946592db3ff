"""Every test here runs the API on each artifact store: the data folder's, and a bucket of its own
on the test S3 server (moto's standalone server, a real S3-protocol server). On S3 the API streams
downloads itself here, so that the same assertions (ranges, ETag) hold on both;
test_artifacts_api.py checks the presigned redirect on its own."""
from __future__ import annotations

import dataclasses

import pytest

from app.config import ArtifactSettings, Config
from tests.conftest import STORE_KINDS, TEST_SECRET


@pytest.fixture(params=STORE_KINDS)
def config(request, database_url, tmp_path):
    s3 = None
    if request.param == "s3":
        s3 = dataclasses.replace(request.getfixturevalue("s3_settings"), presigned_downloads=False)
    return Config(database_url=database_url, secret_key=TEST_SECRET, data_dir=tmp_path,
                  artifacts=ArtifactSettings(s3=s3))
