"""The value every pure check returns: what is wrong, where, and with which input."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a service description or an order.

    ``path`` is the dotted path of the offending field from the document's root, with list
    indexes as numbers (``workflow.basic.cpu.request``, ``parameters.2.default``), so that the
    API can answer with it as the ``name`` of its ``InvalidParameterValue`` body.
    """

    path: str
    message: str
    value: Any = None
