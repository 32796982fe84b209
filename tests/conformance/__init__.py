"""The built-in flavors run the installable suite from :mod:`modelpack.testing`."""

from __future__ import annotations

from modelpack.testing import FlavorConformance, assert_same_predictions

__all__ = ["FlavorConformance", "assert_same_predictions"]
