"""Runs, the model registry and artifact storage (placeholder until the store lands)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelpack.exceptions import ModelNotFoundError

if TYPE_CHECKING:
    from modelpack._uri import ModelURI

__all__ = ["resolve"]


def resolve(uri: ModelURI) -> Path:
    raise ModelNotFoundError(f"cannot resolve {uri.raw}: no store is configured", uri=uri.raw)
