"""The products of an argo order: the output artifacts its Workflow's steps stored in the
platform's artifact repository, read from the Workflow's status (a pure function of it).

Each artifact a step (a `Pod` node) reports becomes one product named `<step>/<artifact>`, whose
content the app reads from the store at its key. Argo archives outputs as .tar.gz unless the
template says `archive: {none: {}}`, and then its key ends in `.tgz`: the name says so too. The
steps' logs, which Argo archives as `main-logs` when the repository asks it to, are kept as the
order's logs already. Argo may compress a large node status (`compressedNodes`); it is measured
while it is inflated.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any

from workflows.backends.base import ProducedFile, ProductList
from workflows.output_files import name_problem

MAX_NODES_BYTES = 64 * 1024 * 1024  # inflated compressedNodes
STORE_KEYS = (("s3", "key"), ("gcs", "key"), ("oss", "key"), ("azure", "blob"), ("hdfs", "path"))
LOG_ARTIFACT = "main-logs"
_UNSAFE = re.compile(r"[^A-Za-z0-9._()\[\]=,+@-]+")
MAX_PART_CHARS = 200


def _nodes(status: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The Workflow's nodes, and why some cannot be read."""
    if isinstance(status.get("nodes"), dict):
        return status["nodes"], None
    if status.get("offloadNodeStatusVersion"):
        return {}, "the Workflow's node status is offloaded to Argo's database, which the platform does not read"
    if not isinstance(status.get("compressedNodes"), str):
        return {}, None
    try:
        inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header
        text = inflater.decompress(base64.b64decode(status["compressedNodes"]), MAX_NODES_BYTES)
        if inflater.unconsumed_tail:
            return {}, f"the Workflow's compressed node status inflates past {MAX_NODES_BYTES} bytes"
        nodes = json.loads(text)
    except (binascii.Error, zlib.error, ValueError):
        return {}, "the Workflow's compressed node status cannot be read"
    return (nodes, None) if isinstance(nodes, dict) else ({}, "the Workflow's node status is not a mapping")


def _store_key(artifact: dict[str, Any]) -> str | None:
    for location, field in STORE_KEYS:
        if isinstance(artifact.get(location), dict) and isinstance(key := artifact[location].get(field), str):
            return key
    return None


def _part(text: Any) -> str:
    return _UNSAFE.sub("_", str(text)).strip("._")[:MAX_PART_CHARS] or "_"


def workflow_products(workflow: dict[str, Any], max_products: int) -> ProductList:
    """One ProducedFile (size unknown, store_key set) per output artifact of the Workflow's steps,
    in the order the steps started; at most `max_products`."""
    nodes, problem = _nodes(workflow.get("status") or {})
    refused = [problem] if problem else []
    steps = sorted((node for node in nodes.values() if isinstance(node, dict) and node.get("type") == "Pod"),
                   key=lambda node: (str(node.get("startedAt") or "~"), str(node.get("id") or "")))
    products: list[ProducedFile] = []
    names, keys, over = set(), set(), 0
    for node in steps:
        for artifact in ((node.get("outputs") or {}).get("artifacts") or []):
            key = _store_key(artifact) if isinstance(artifact, dict) else None
            if key is None or key in keys or artifact.get("name") == LOG_ARTIFACT:
                continue  # not in the store (raw, http, git), a step's retry, or its log
            keys.add(key)
            name = f"{_part(node.get('displayName') or node.get('name'))}/{_part(artifact.get('name'))}"
            if key.endswith(".tgz") and not name.endswith(".tgz"):
                name += ".tgz"
            unique, count = name, 1
            while unique in names:
                count += 1
                unique = f"{name}~{count}"
            if name_problem(unique):
                refused.append(f"{unique!r} left out: {name_problem(unique)}")
            elif len(products) >= max_products:
                over += 1
            else:
                names.add(unique)
                products.append(ProducedFile(unique, None, store_key=key))
    if over:
        refused.append(f"{over} more files left out: an order keeps at most {max_products} files")
    return ProductList(products, refused)
