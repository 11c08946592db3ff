"""Where a workload finds its input files and leaves its products: the folders and variables of
the convention that workflows/basic.py documents, the same on every backend."""
from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

INPUTS_DIR = "/marketplace/inputs"  # in a Job's containers and in the local sandbox
OUTPUTS_DIR = "/marketplace/outputs"
INPUTS_VARIABLE, OUTPUTS_VARIABLE = "MARKETPLACE_INPUTS_DIR", "MARKETPLACE_OUTPUTS_DIR"


def with_input_paths(parameters: Sequence[tuple[str, str]], input_names: Sequence[str],
                     inputs_dir: str) -> list[tuple[str, str]]:
    """The values the workload sees: each artifact input's becomes the path of its local copy."""
    names = set(input_names)
    return [(name, f"{inputs_dir}/{name}" if name in names else value) for name, value in parameters]


def data_environment(inputs_dir: str | None, outputs_dir: str) -> dict[str, str]:
    return {**({INPUTS_VARIABLE: inputs_dir} if inputs_dir else {}), OUTPUTS_VARIABLE: outputs_dir}


def artifact_blob_url(api: str, artifact_id: str) -> str:
    """Where the API serves an artifact's content (to a bearer of a token that may read it)."""
    return f"{api.rstrip('/')}/1/artifacts/{quote(artifact_id, safe='')}/blob"


def product_upload_url(api: str, order_id: str, name: str) -> str:
    return f"{api.rstrip('/')}/1/orders/{quote(order_id, safe='')}/products?name={quote(name, safe='')}"
