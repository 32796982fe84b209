"""Test helpers for code built on modelpack, installed with it.

The flavor conformance suite lives here so that a third-party flavor runs exactly the tests the
built-in flavors run: subclass :class:`FlavorConformance` as a ``Test...`` class in your own
test suite and provide its fixtures (see ``docs/flavor-conformance.md``). It needs pytest,
numpy, pandas and PyYAML (``pip install "modelpack[testing]"``).
"""

from __future__ import annotations

from modelpack.testing._conformance import FlavorConformance, assert_same_predictions

__all__ = ["FlavorConformance", "assert_same_predictions"]
