"""The bundled preprocessor: a fitted transformer applied before the model in ``predict``.

This module owns it end to end: checking and writing it at save time (with its entry in the
manifest), refusing or reading it at load time, and deciding what it consumes. The manifest
entry itself is :class:`~modelpack._manifest.PreprocessorInfo`, written by ``_manifest``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelpack._manifest import PreprocessorInfo
from modelpack._serialize import PICKLE_FORMATS, dump_object, load_object

__all__ = [
    "first_stage",
    "input_kind_of",
    "load_preprocessor",
    "pickle_files",
    "save_preprocessor",
]

_STEM = "preprocessor"


def input_kind_of(obj: Any) -> str:
    """``"records"``, ``"frame"`` or ``"array"``: what ``obj.transform``/``predict`` consumes.

    Found by duck typing (no flavor imports). Dict-consuming transformers (DictVectorizer,
    FeatureHasher with ``input_type="dict"``) take records; a pipeline takes what its first step
    takes; anything fitted on named columns (``feature_names_in_``) or routing columns by name
    (a ColumnTransformer) takes a DataFrame.
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


def save_preprocessor(obj: Any, model_dir: Path) -> tuple[PreprocessorInfo | None, list[str]]:
    """Write ``obj`` into ``model_dir``; return its manifest entry and the distributions
    loading it needs (unpinned). ``(None, [])`` when there is no preprocessor."""
    if obj is None:
        return None, []
    if not hasattr(obj, "transform"):
        raise TypeError(
            f"preprocessor must be a fitted object with transform(), got {type(obj).__name__}"
        )
    name, fmt = dump_object(obj, model_dir, _STEM)
    cls = type(obj)
    info = PreprocessorInfo(
        path=name,
        serialization_format=fmt,
        input=input_kind_of(obj),
        class_name=f"{cls.__module__}.{cls.__qualname__}",
    )
    return info, [fmt] if fmt != "pickle" else []


def pickle_files(info: PreprocessorInfo | None) -> list[str]:
    """The preprocessor's file when loading it would unpickle (for refusing it up front)."""
    if info is not None and info.serialization_format in PICKLE_FORMATS:
        return [info.path]
    return []


def load_preprocessor(
    model_dir: Path,
    info: PreprocessorInfo | None,
    *,
    allow_pickle: bool,
    trusted_types: tuple[str, ...] = (),
) -> Any:
    """The fitted preprocessor recorded by ``info``, or None when the model has none."""
    if info is None:
        return None
    return load_object(
        model_dir / info.path,
        info.serialization_format,
        allow_pickle=allow_pickle,
        trusted=list(trusted_types),
    )


def first_stage(
    preprocessor: Any, info: PreprocessorInfo | None, model_kind: str
) -> tuple[Callable[[Any], Any] | None, str]:
    """The preprocessor's ``transform`` (None without one) and what the first stage consumes:
    the preprocessor's recorded input kind, else the model's own ``model_kind``."""
    if preprocessor is None:
        return None, model_kind
    return preprocessor.transform, (info.input if info is not None else None) or "array"
