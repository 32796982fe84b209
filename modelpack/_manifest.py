"""The ``MLmodel`` manifest: a typed view of it, and the one place that reads and writes it.

The file keeps every key MLflow writes, with the same meaning and encoding, so MLflow can read
modelpack models and modelpack can read MLflow models. modelpack's own facts live under one
top-level ``modelpack`` key, which MLflow ignores::

    modelpack:
      format_version: 1
      version: 0.1.0                 # the modelpack that wrote it
      preprocessor: {path: preprocessor.skops, serialization_format: skops,
                     input: records, class: sklearn.feature_extraction.DictVectorizer}
      files: {model.skops: sha256:..., requirements.txt: sha256:...}

Bumping the format version
--------------------------
1. Increase ``FORMAT_VERSION`` and describe the change in ``_FORMAT_CHANGES``.
2. Add an upgrader ``_UPGRADERS[old] = fn`` that turns the ``modelpack`` block of version
   ``old`` into version ``old + 1``; reading applies upgraders in sequence.
3. Add a fixture directory of the old version under ``tests/data/format_v<old>`` and a test that
   loads it. Old versions stay loadable forever; a newer version than this library knows is a
   :class:`ManifestError` that says to upgrade modelpack.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelpack._version import __version__
from modelpack.exceptions import ManifestError

__all__ = [
    "FORMAT_VERSION",
    "MLMODEL_FILE",
    "Manifest",
    "PreprocessorInfo",
    "read_manifest",
    "write_manifest",
]

MLMODEL_FILE = "MLmodel"
FORMAT_VERSION = 1
_FORMAT_CHANGES = {1: "first version: preprocessor, files digests, format_version, version"}
# Version 0 means "no modelpack block": a directory written by MLflow or another tool.
_UPGRADERS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

try:  # the C loader is ten times faster on large manifests
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

_MLFLOW_KEYS = (
    "artifact_path",
    "flavors",
    "metadata",
    "model_size_bytes",
    "model_uuid",
    "run_id",
    "saved_input_example_info",
    "signature",
    "utc_time_created",
)


@dataclass
class PreprocessorInfo:
    """Where the bundled preprocessor lives and how it is fed.

    ``input`` is ``"records"`` for dict-consuming transformers such as DictVectorizer (they get a
    list of dicts), ``"frame"`` for transformers fitted on named columns, ``"array"`` otherwise.
    """

    path: str
    serialization_format: str
    input: str
    class_name: str

    def to_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "serialization_format": self.serialization_format,
            "input": self.input,
            "class": self.class_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessorInfo:
        try:
            return cls(
                path=str(data["path"]),
                serialization_format=str(data["serialization_format"]),
                input=str(data.get("input", "array")),
                class_name=str(data.get("class", "")),
            )
        except (KeyError, TypeError) as e:
            raise ManifestError(f"invalid 'modelpack.preprocessor' entry: {data!r}") from e


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Manifest:
    """Typed contents of an ``MLmodel`` file.

    ``signature`` keeps MLflow's encoding (a dict whose values are JSON strings); parse it with
    :meth:`modelpack.Signature.from_dict`. Keys this class does not know are kept in ``extra``
    and written back unchanged.
    """

    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(default_factory=_utc_now)
    signature: dict[str, Any] | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_size_bytes: int | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    metadata: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION
    modelpack_version: str | None = __version__
    preprocessor: PreprocessorInfo | None = None
    files: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def written_by_modelpack(self) -> bool:
        """True when a modelpack block is present (digests and preprocessor are meaningful)."""
        return self.format_version > 0

    @property
    def pyfunc_conf(self) -> dict[str, Any]:
        return self.flavors.get("python_function", {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for key in _MLFLOW_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.written_by_modelpack:
            block: dict[str, Any] = {
                "format_version": self.format_version,
                "version": self.modelpack_version,
            }
            if self.preprocessor is not None:
                block["preprocessor"] = self.preprocessor.to_dict()
            block["files"] = dict(sorted(self.files.items()))
            out["modelpack"] = block
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, path: str | None = None) -> Manifest:
        if not isinstance(data, dict):
            raise ManifestError(
                f"MLmodel must hold a mapping, got {type(data).__name__}", path=path
            )
        data = dict(data)
        flavors = data.pop("flavors", None)
        if not isinstance(flavors, dict) or not flavors:
            raise ManifestError(
                "MLmodel lists no flavors; it was not written by modelpack or MLflow", path=path
            )
        block = data.pop("modelpack", None)
        known = {key: data.pop(key) for key in _MLFLOW_KEYS if key in data}
        manifest = cls(flavors=flavors, extra=data, **known)
        if block is None:
            manifest.format_version = 0
            manifest.modelpack_version = None
            return manifest
        block = _upgrade(block, path=path)
        manifest.format_version = int(block["format_version"])
        manifest.modelpack_version = block.get("version")
        if block.get("preprocessor"):
            manifest.preprocessor = PreprocessorInfo.from_dict(block["preprocessor"])
        manifest.files = dict(block.get("files") or {})
        return manifest


def _upgrade(block: dict[str, Any], *, path: str | None) -> dict[str, Any]:
    try:
        version = int(block["format_version"])
    except (KeyError, TypeError, ValueError) as e:
        raise ManifestError(
            "MLmodel 'modelpack.format_version' is missing or invalid", path=path
        ) from e
    if version > FORMAT_VERSION:
        raise ManifestError(
            f"this model was written with modelpack format version {version}, but this modelpack "
            f"({__version__}) reads versions up to {FORMAT_VERSION}; upgrade modelpack "
            "(pip install -U modelpack)",
            path=path,
        )
    while version < FORMAT_VERSION:
        block = _UPGRADERS[version](block)
        version += 1
    return block


def read_manifest(model_dir: str | Path) -> Manifest:
    """Read ``MLmodel`` from a model directory."""
    path = Path(model_dir) / MLMODEL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ManifestError(
            f"no {MLMODEL_FILE} file in {model_dir}: this is not a model directory", path=str(path)
        ) from e
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise ManifestError(f"{path} is not valid YAML: {e}", path=str(path)) from e
    return Manifest.from_dict(data, path=str(path))


def write_manifest(manifest: Manifest, model_dir: str | Path) -> Path:
    """Write ``MLmodel`` into a model directory and return its path."""
    path = Path(model_dir) / MLMODEL_FILE
    text = yaml.dump(manifest.to_dict(), Dumper=_Dumper, default_flow_style=False, sort_keys=True)
    path.write_text(text, encoding="utf-8")
    return path
