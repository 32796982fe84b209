"""The models one server holds: where each comes from, the version it serves, and loading.

A server serves one or more models, each under a name. :class:`ModelSource` says where a name's
model comes from (a path, a ``models:/`` URI, a folder of a model repository); :class:`Served`
is one loaded version of it; :class:`ModelTable` maps names to :class:`Entry` objects, each
holding the version being served now (or none, once unloaded) and the last failed load.

Switching versions is one attribute assignment on the event loop (``entry.served = new``): a
request reads ``entry.served`` once when it starts and finishes on that version, so a switch
never changes the model under a request already running.

Loading (:func:`load_source`) blocks: the app runs it in a thread so that the other models keep
answering meanwhile.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.exceptions import ModelNotFoundError

if TYPE_CHECKING:
    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._batching import Batcher

__all__ = [
    "Entry",
    "ModelSource",
    "ModelTable",
    "Served",
    "load_source",
    "model_source",
    "parse_model_args",
    "repository_sources",
    "resident_bytes",
    "unique_names",
]

#: a name a model can be served under: it is one segment of a URL path
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class ModelSource:
    """Where the model served under ``name`` comes from.

    ``watch`` is true for ``models:/`` URIs that name a moving target (an alias, a stage or
    ``latest``): the server polls the store for the version they point at.
    """

    name: str
    uri: str
    watch: bool = False


class Served:
    """One loaded version of a model, with its batcher (set by the app when it installs it)."""

    __slots__ = ("batcher", "loaded_at", "memory", "model", "uri", "version")

    def __init__(
        self, model: PyFuncModel, *, version: str | None, uri: str, memory: int | None
    ) -> None:
        self.model = model
        self.version = version
        self.uri = uri
        #: growth of the process's resident memory while this version loaded, in bytes
        self.memory = memory
        self.loaded_at = time.time()
        self.batcher: Batcher | None = None


class Entry:
    """A name in the table: the version served now, and how the last load went."""

    __slots__ = ("failure", "name", "served", "source", "state")

    def __init__(self, name: str, source: ModelSource | None, served: Served | None) -> None:
        self.name = name
        self.source = source
        self.served = served
        #: READY, LOADING, UNLOADING or UNAVAILABLE (the Open Inference Protocol's states)
        self.state = "READY" if served is not None else "UNAVAILABLE"
        #: (version tried, why it failed) for the last load that failed, until one succeeds
        self.failure: tuple[str | None, str] | None = None


class ModelTable:
    """The models of one server process, by name."""

    def __init__(self, default: str | None = None, directory: str | None = None) -> None:
        self.entries: dict[str, Entry] = {}
        #: the model ``/invocations`` answers with; None when several are served and none was
        #: chosen (then ``/invocations`` is refused, naming the others)
        self.default = default
        #: the model repository folder, whose sub-folders can be loaded by name
        self.directory = directory

    def add(self, source: ModelSource, served: Served | None) -> Entry:
        if source.name in self.entries:
            raise ValueError(
                f"two models are named {source.name!r}; give one another name (NAME=URI)"
            )
        entry = self.entries[source.name] = Entry(source.name, source, served)
        return entry

    def default_entry(self) -> Entry | None:
        if self.default is not None:
            return self.entries.get(self.default)
        if len(self.entries) == 1:
            return next(iter(self.entries.values()))
        return None

    def get(self, name: str, version: str | None = None) -> Served:
        """The version served under ``name``; ModelNotFoundError says what is served instead."""
        entry = self.entries.get(name)
        if entry is None:
            raise ModelNotFoundError(f"no model {name!r} here; {self.describe()}", uri=name)
        served = entry.served
        if served is None:
            raise ModelNotFoundError(
                f"model {name!r} is not loaded; load it with "
                f"POST /v2/repository/models/{name}/load",
                uri=name,
            )
        if version is not None and served.version is not None and version != served.version:
            raise ModelNotFoundError(
                f"no version {version!r} of {name!r} here; this server serves version "
                f"{served.version}",
                uri=name,
            )
        return served

    def describe(self) -> str:
        names = [n for n, e in self.entries.items() if e.served is not None]
        if not names:
            return "no model is loaded"
        return "this server serves " + ", ".join(map(repr, sorted(names)))

    def source_for(self, name: str) -> ModelSource:
        """Where to load ``name`` from: its known source, else the repository's sub-folder."""
        entry = self.entries.get(name)
        if entry is not None and entry.source is not None:
            return entry.source
        if self.directory is not None and _NAME.fullmatch(name):
            folder = Path(self.directory) / name
            if (folder / "MLmodel").is_file():
                return ModelSource(name, str(folder))
        where = f" and the repository {self.directory} has no folder {name!r}" * bool(
            self.directory
        )
        raise ModelNotFoundError(
            f"no model {name!r} is known to this server{where}; {self.describe()}", uri=name
        )

    def index(self) -> list[dict[str, Any]]:
        """The repository index: every known model, loaded or not, with its state."""
        entries = list(self.entries.items())  # one step under the GIL: runs in a thread
        rows: dict[str, dict[str, Any]] = {}
        if self.directory is not None:
            for source in repository_sources(self.directory):
                rows[source.name] = {"name": source.name, "state": "UNAVAILABLE"}
        for name, entry in entries:
            served, failure = entry.served, entry.failure
            row: dict[str, Any] = {"name": name, "state": entry.state}
            if served is not None and served.version is not None:
                row["version"] = served.version
            if served is None:
                row["reason"] = failure[1] if failure else "unloaded"
            elif failure is not None:
                row["reason"] = f"version {failure[0]} failed to load: {failure[1]}"
            rows[name] = row
        return [rows[n] for n in sorted(rows)]


# ------------------------------------------------------------------------------ sources
def parse_model_args(args: Iterable[str]) -> list[ModelSource]:
    """``URI`` or ``NAME=URI`` arguments as sources; the name defaults from the URI."""
    sources = []
    for arg in args:
        name, sep, uri = arg.partition("=")
        if not sep or not _NAME.fullmatch(name) or not uri or os.path.exists(arg):
            name, uri = default_name(arg), arg
        sources.append(ModelSource(name, uri, watch=_moving(uri)))
    return sources


def unique_names(sources: Iterable[ModelSource]) -> dict[str, str]:
    """``{name: uri}`` of ``sources``; two sources with one name are a ValueError."""
    named: dict[str, str] = {}
    for source in sources:
        if source.name in named:
            raise ValueError(f"two models are named {source.name!r}; name one of them: NAME=URI")
        named[source.name] = source.uri
    return named


def model_source(uri: str | os.PathLike[str], name: str | None = None) -> ModelSource:
    """The source serving ``uri`` under ``name`` (default: :func:`default_name`)."""
    uri = os.fspath(uri)
    return ModelSource(default_name(uri) if name is None else name, uri, watch=_moving(uri))


def default_name(uri: str) -> str:
    """The registered model's name for ``models:/`` URIs, else the last folder's name."""
    from modelpack._uri import parse_uri

    parsed = parse_uri(uri)
    if parsed.kind == "models" and parsed.name:
        return parsed.name
    path = Path(parsed.path or ".")
    if parsed.kind == "path":
        path = path.absolute()
    return path.name or "model"


def _moving(uri: str) -> bool:
    from modelpack._uri import parse_uri

    parsed = parse_uri(uri)
    return parsed.kind == "models" and parsed.version is None


def repository_sources(directory: str | os.PathLike[str]) -> list[ModelSource]:
    """One source per sub-folder of ``directory`` that holds a model (an MLmodel file)."""
    root = Path(directory)
    if not root.is_dir():
        raise ModelNotFoundError(
            f"the model repository {root} is not a folder; give a folder whose sub-folders "
            "are model directories",
            uri=str(root),
        )
    return [
        ModelSource(child.name, str(child))
        for child in sorted(root.iterdir())
        if child.is_dir() and _NAME.fullmatch(child.name) and (child / "MLmodel").is_file()
    ]


# ------------------------------------------------------------------------------ loading
def resident_bytes() -> int | None:
    """This process's resident memory in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def current_version(source: ModelSource) -> str | None:
    """The version a ``models:/`` source points at now, asking the store; else None."""
    from modelpack._uri import model_version_for, parse_uri

    parsed = parse_uri(source.uri)
    if parsed.kind != "models":
        return None
    if parsed.version is not None:
        return str(parsed.version)
    from modelpack._store import get_store

    return str(model_version_for(get_store(), parsed).version)


def load_source(
    source: ModelSource, version: str | None = None, predict_method: str | None = None
) -> Served:
    """Load ``source`` (blocking). For a moving ``models:/`` URI, ``version`` (or the one it
    points at now) is loaded by number, so the version recorded is the one loaded.
    ``predict_method`` becomes the model's default method (a model lacking it fails to load,
    naming the methods it has)."""
    from modelpack._api import load_model
    from modelpack._uri import parse_uri

    uri = source.uri
    parsed = parse_uri(uri)
    if parsed.kind == "models":
        version = version or current_version(source)
        uri = f"models:/{parsed.name}/{version}"
    before = resident_bytes()
    model = load_model(uri)
    if predict_method:
        model.default_predict_method = predict_method
    after = resident_bytes()
    memory = max(0, after - before) if before is not None and after is not None else None
    return Served(model, version=version, uri=uri, memory=memory)
