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
import errno
import hashlib
import os
import stat
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
    "MAX_MANIFEST_BYTES",
    "MLMODEL_FILE",
    "Manifest",
    "PreprocessorInfo",
    "parse_manifest",
    "read_manifest",
    "read_manifest_bytes",
    "write_manifest",
]

MLMODEL_FILE = "MLmodel"
#: the largest MLmodel read (1 MiB; real ones are a few KiB even with large signatures), so a
#: hostile manifest cannot exhaust memory; ``MODELPACK_MAX_MANIFEST_BYTES`` raises it
MAX_MANIFEST_BYTES = 1 << 20
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


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases: no manifest needs them, and expanding
    them is how a few bytes of YAML become gigabytes (an alias bomb)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasFound(event.start_mark)
        return super().compose_node(parent, index)


class _AliasFound(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__(f"line {mark.line + 1}, column {mark.column + 1}")


#: the MLflow keys whose value is a mapping
_MAPPING_KEYS = ("signature", "saved_input_example_info", "metadata")

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

    #: sha256 hex digest of the MLmodel bytes this was read from (None when built in memory)
    digest: str | None = field(default=None, compare=False, repr=False)

    @property
    def written_by_modelpack(self) -> bool:
        """True when a modelpack block is present (digests and preprocessor are meaningful)."""
        return self.format_version > 0

    @property
    def claims_modelpack(self) -> bool:
        """True when the manifest carries modelpack's marks, with or without its block.

        An attacker who rewrites a model can delete the ``modelpack`` block (and with it the
        digests); the marks MLflow never writes give it away: ``python_function.flavor``, a
        ``loader_module`` in modelpack, or a ``modelpack`` key that is not a proper block.
        """
        if self.written_by_modelpack or "modelpack" in self.extra:
            return True
        for conf in self.flavors.values():
            loader = conf.get("loader_module")
            if isinstance(loader, str) and loader.split(".")[0] == "modelpack":
                return True
        return "flavor" in self.pyfunc_conf

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
        flavors = _flavors(data.pop("flavors", None), path)
        block = data.pop("modelpack", None)
        known = {key: _checked(key, data.pop(key), path) for key in _MLFLOW_KEYS if key in data}
        manifest = cls(flavors=flavors, extra=data, **known)
        if block is None:
            manifest.format_version = 0
            manifest.modelpack_version = None
            return manifest
        if not isinstance(block, dict):
            raise _wrong("modelpack", block, "a mapping", path)
        block = _upgrade(block, path=path)
        manifest.format_version = int(block["format_version"])
        version = block.get("version")
        manifest.modelpack_version = None if version is None else str(version)
        pre = block.get("preprocessor")
        if pre:
            if not isinstance(pre, dict):
                raise _wrong("modelpack.preprocessor", pre, "a mapping", path)
            manifest.preprocessor = PreprocessorInfo.from_dict(pre)
        files = block.get("files") or {}
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise _wrong("modelpack.files", files, "a mapping of file names to digests", path)
        manifest.files = dict(files)
        return manifest


def _wrong(field_name: str, value: Any, expected: str, path: str | None) -> ManifestError:
    return ManifestError(
        f"MLmodel field {field_name!r} must be {expected}, got {type(value).__name__}; the "
        "manifest was edited by hand or damaged: restore it from the model's source or save "
        "the model again",
        path=path,
    )


def _flavors(flavors: Any, path: str | None) -> dict[str, dict[str, Any]]:
    if not isinstance(flavors, dict) or not flavors:
        raise ManifestError(
            "MLmodel lists no flavors; it was not written by modelpack or MLflow", path=path
        )
    for name, conf in flavors.items():
        if not isinstance(name, str):
            raise _wrong("flavors", name, "a mapping with flavor names as keys", path)
        if conf is None:
            flavors[name] = {}
        elif not isinstance(conf, dict):
            raise _wrong(f"flavors.{name}", conf, "a mapping", path)
    return flavors


def _checked(key: str, value: Any, path: str | None) -> Any:
    """A known MLflow key's value, refused when it has the wrong kind."""
    if value is None:
        return None
    if key in _MAPPING_KEYS:
        if not isinstance(value, dict):
            raise _wrong(key, value, "a mapping", path)
        return value
    if key == "model_size_bytes":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(key, value, "an integer", path)
        return value
    if isinstance(value, (dict, list)):
        raise _wrong(key, value, "a string", path)
    # YAML reads an unquoted time or a numeric id as a datetime or a number: keep it as text
    return value if isinstance(value, str) else str(value)


def _upgrade(block: dict[str, Any], *, path: str | None) -> dict[str, Any]:
    try:
        raw = block["format_version"]
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise TypeError(raw)
        version = int(raw)
        if version < 1:
            raise ValueError(raw)
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
    block = dict(block)
    while version < FORMAT_VERSION:
        block = _UPGRADERS[version](block)
        version += 1
    return block


def _max_bytes() -> int:
    raw = os.environ.get("MODELPACK_MAX_MANIFEST_BYTES", "").strip()
    try:
        return int(raw) if raw else MAX_MANIFEST_BYTES
    except ValueError:
        return MAX_MANIFEST_BYTES


def read_manifest_bytes(model_dir: str | Path) -> bytes:
    """The bytes of ``MLmodel``: a regular file of at most :data:`MAX_MANIFEST_BYTES`.

    The file type is checked before opening, and it is opened non-blocking, so an ``MLmodel``
    that is a FIFO or a device (``/dev/zero``) is an error, never a hang or a memory blow-up.
    """
    path = Path(model_dir) / MLMODEL_FILE
    limit = _max_bytes()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError as e:
        raise ManifestError(
            f"no {MLMODEL_FILE} file in {model_dir}: this is not a model directory", path=str(path)
        ) from e
    except OSError as e:
        if e.errno == errno.ENXIO:  # a FIFO nobody writes to
            raise _not_regular(path) from e
        raise ManifestError(f"cannot read {path}: {e.strerror}", path=str(path)) from e
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path)
        if info.st_size > limit:
            raise _too_big(path, limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise _too_big(path, limit)
    return data


def _not_regular(path: Path) -> ManifestError:
    return ManifestError(
        f"{path} is not a regular file (a FIFO, device or directory); a model's MLmodel is "
        "always a plain file, so this directory is not a model or was tampered with",
        path=str(path),
    )


def _too_big(path: Path, limit: int) -> ManifestError:
    return ManifestError(
        f"{path} is larger than {limit} bytes, far more than any real manifest; refusing to "
        "read it (set MODELPACK_MAX_MANIFEST_BYTES to raise the limit if it is genuine)",
        path=str(path),
    )


def _load_yaml(text: str, path: str) -> Any:
    # The C loader cannot refuse aliases, so it reads only text that cannot hold them; the
    # rare manifest with '&' or '*' anywhere goes through the refusing pure-Python loader.
    try:
        if "&" not in text and "*" not in text:
            return yaml.load(text, Loader=_Loader)
        return yaml.load(text, Loader=_NoAliasLoader)
    except _AliasFound as e:
        raise ManifestError(
            f"{path} uses a YAML anchor or alias ({e}); manifests never need them and they can "
            "expand without bound, so modelpack refuses them",
            path=path,
        ) from None
    except yaml.YAMLError as e:
        raise ManifestError(f"{path} is not valid YAML: {e}", path=path) from e
    except RecursionError:
        raise ManifestError(f"{path} is nested too deeply to be a manifest", path=path) from None


def parse_manifest(data: bytes, *, path: str = MLMODEL_FILE) -> Manifest:
    """Parse the bytes of an ``MLmodel`` file (UTF-8 YAML, no aliases)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(
            f"{path} is not UTF-8 text (byte {e.start} is invalid); it is damaged or not a "
            "manifest",
            path=path,
        ) from None
    manifest = Manifest.from_dict(_load_yaml(text, path), path=path)
    manifest.digest = hashlib.sha256(data).hexdigest()
    return manifest


def read_manifest(model_dir: str | Path) -> Manifest:
    """Read ``MLmodel`` from a model directory (bounded: see :func:`read_manifest_bytes`)."""
    data = read_manifest_bytes(model_dir)
    return parse_manifest(data, path=str(Path(model_dir) / MLMODEL_FILE))


def write_manifest(manifest: Manifest, model_dir: str | Path) -> Path:
    """Write ``MLmodel`` into a model directory and return its path."""
    path = Path(model_dir) / MLMODEL_FILE
    text = yaml.dump(manifest.to_dict(), Dumper=_Dumper, default_flow_style=False, sort_keys=True)
    path.write_text(text, encoding="utf-8")
    return path
