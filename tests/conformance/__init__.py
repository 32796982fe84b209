"""The flavor conformance suite: subclass :class:`FlavorConformance` and provide its fixtures."""

from __future__ import annotations

from .suite import FlavorConformance, assert_same_predictions

__all__ = ["FlavorConformance", "assert_same_predictions"]
