"""How a fitted transformer wants its input, found by duck typing (no flavor imports)."""

from __future__ import annotations

from typing import Any

__all__ = ["input_kind_of"]


def input_kind_of(obj: Any) -> str:
    """``"records"``, ``"frame"`` or ``"array"``: what ``obj.transform``/``predict`` consumes.

    Dict-consuming transformers (DictVectorizer, FeatureHasher with ``input_type="dict"``)
    take records; a pipeline takes what its first step takes; anything fitted on named columns
    (``feature_names_in_``) or routing columns by name (a ColumnTransformer) takes a DataFrame.
    """
    steps = getattr(obj, "steps", None)
    if isinstance(steps, list) and steps:
        first = steps[0][1]
        if first in ("passthrough", None) and len(steps) > 1:
            return input_kind_of(steps[1][1])
        return input_kind_of(first)
    if hasattr(obj, "vocabulary_") and hasattr(obj, "feature_names_") and hasattr(obj, "separator"):
        return "records"
    if getattr(obj, "input_type", None) == "dict":
        return "records"
    if hasattr(obj, "feature_names_in_") or hasattr(obj, "transformers"):
        return "frame"
    return "array"
