"""Shipping models: offline bundles, conda-packed environments, Docker build contexts.

Everything here works on a model directory (resolved from a URI) and never on a particular
flavor. Nothing is imported until a command uses it.
"""

from __future__ import annotations

__all__: list[str] = []
