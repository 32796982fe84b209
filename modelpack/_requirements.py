"""Requirement inference from the files a save has just written.

Nothing is unpickled and no subprocess is started: pickle files are read opcode by opcode
(``pickletools.genops``) for the modules their globals name, skops files for the
``__module__`` entries of their ``schema.json``, and the saved objects' own classes add their
modules. Each top-level module is then either

* provided by an installed distribution -> that distribution is a requirement;
* a local file (a helper module beside a notebook or script, or a module of a local package)
  -> that file, with its packages' ``__init__`` files, is copied into the model's ``code/``
  folder, which ``load`` puts on ``sys.path``, and its own imports are followed the same way;
* neither -> a :class:`~modelpack.exceptions.ModelpackWarning` names it, because the model
  would fail to load elsewhere.

Tools that happen to be imported while saving (pytest, IPython, the notebook kernel) are never
listed: only modules the saved files actually reference are considered.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import pickletools
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelpack import _env
from modelpack.exceptions import warn

__all__ = ["Inferred", "bundle", "infer", "modules_in_pickle", "modules_in_skops"]

PICKLE_SUFFIXES = (".pkl", ".pickle", ".cloudpickle")
# Never requirements of a model, even when a saved file names them (a fixture in a test module).
_NEVER_MODULES = frozenset(
    {
        "__main__",
        "__mp_main__",
        "builtins",
        "conftest",
        "pytest",
        "_pytest",
        "IPython",
        "ipykernel",
        "ipywidgets",
        "jupyter_client",
        "jupyter_core",
        "pluggy",
        "debugpy",
        "matplotlib_inline",
        "traitlets",
        "comm",
        "nbformat",
        "pip",
        "setuptools",
        "wheel",
    }
)
_NEVER_DISTS = frozenset(
    _env.normalize(n)
    for n in (
        "pytest",
        "pytest-timeout",
        "pytest-cov",
        "pluggy",
        "iniconfig",
        "ipython",
        "ipykernel",
        "ipywidgets",
        "jupyter-client",
        "jupyter-core",
        "debugpy",
        "matplotlib-inline",
        "traitlets",
        "comm",
        "nbformat",
        "pip",
        "setuptools",
        "wheel",
    )
)
_STRING_OPS = frozenset(
    {
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "UNICODE",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
    }
)
_IMPORTERS = frozenset({"subimport", "dynamic_subimport"})


@dataclass
class Inferred:
    """What the saved files need: distributions, local code to bundle, unresolved modules."""

    distributions: list[str] = field(default_factory=list)
    #: path relative to ``code/`` -> local source file
    local: dict[str, Path] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def _walk_pickle(data: bytes) -> Iterator[str]:
    """Module names named by a pickle's globals (and by cloudpickle's module imports).

    A tiny model of the pickle stack is enough: STACK_GLOBAL takes the two objects pushed just
    before it, which may be fresh strings or memo lookups of earlier ones.
    """
    memo: dict[int, Any] = {}
    last: list[Any] = [None, None]
    want_module = False
    for op, arg, _ in pickletools.genops(data):
        pushed: Any = None
        name = op.name
        if name in _STRING_OPS:
            pushed = arg
            if want_module and isinstance(arg, str):
                yield arg
                want_module = False
        elif name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            pushed = ("global", module, attr)
        elif name == "STACK_GLOBAL":
            module, attr = last[-2], last[-1]
            pushed = ("global", module, attr)
        elif name == "MEMOIZE":
            memo[len(memo)] = last[-1]
            continue
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg if isinstance(arg, int) else -1] = last[-1]
            continue
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            pushed = memo.get(arg if isinstance(arg, int) else -1)
        if isinstance(pushed, tuple) and isinstance(pushed[1], str):
            yield pushed[1]
            want_module = pushed[2] in _IMPORTERS
        last = [last[-1], pushed]


def modules_in_pickle(path: Path) -> set[str]:
    """Every module a pickle file refers to, read without unpickling it."""
    try:
        return set(_walk_pickle(path.read_bytes()))
    except (ValueError, EOFError, UnicodeDecodeError):
        return set()  # not a plain pickle (compressed joblib, ...): nothing readable


def modules_in_skops(path: Path) -> set[str]:
    """Every ``__module__`` recorded in a skops file's schema."""
    try:
        with zipfile.ZipFile(path) as z:
            schema = json.loads(z.read("schema.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return set()
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module = node.get("__module__")
            if isinstance(module, str):
                found.add(module)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _object_modules(objects: Iterable[Any]) -> set[str]:
    out: set[str] = set()
    for obj in objects:
        if obj is None:
            continue
        # A plain function is saved by reference to its own module; anything else by its class.
        module = obj.__module__ if inspect.isfunction(obj) else type(obj).__module__
        if isinstance(module, str):
            out.add(module)
    return out


def _spec_of(name: str) -> Any:
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None) if module is not None else None
    if spec is None:
        try:  # for a submodule this imports its parent package, which is local user code
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            return None
    return spec


def _local_files(name: str) -> dict[str, Path] | None:
    """Files that make ``name`` importable: the module and its packages' ``__init__``s.

    Keys are paths relative to the directory that holds the top-level package, which is what
    ``code/`` stands for once it is on ``sys.path``. None when ``name`` is not a local file.
    """
    spec = _spec_of(name)
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return None
    origin = Path(spec.origin)
    depth = name.count(".") + (1 if origin.stem == "__init__" else 0)
    base = origin.parents[depth]
    files = {origin.relative_to(base).as_posix(): origin}
    parent = origin.parent
    while parent != base:
        init = parent / "__init__.py"
        if init.is_file():
            files[init.relative_to(base).as_posix()] = init
        parent = parent.parent
    return files


def _imports_of(name: str, source: Path) -> set[str]:
    """Modules a local source file imports, absolute names (relative imports resolved)."""
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError, OSError):
        return set()
    package = name if source.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                keep = len(parts) - (node.level - 1)
                if keep <= 0:
                    continue
                base = ".".join(parts[:keep])
                module = f"{base}.{node.module}" if node.module else base
            elif node.module:
                module = node.module
            else:
                continue
            found.add(module)
            # ``from pkg import name`` may import a submodule ``pkg.name``.
            found.update(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _classify(names: Iterable[str], result: Inferred, *, referenced: bool, seen: set[str]) -> None:
    for name in sorted(set(names) - seen):
        seen.add(name)
        root = name.partition(".")[0]
        if root in sys.stdlib_module_names or root in _NEVER_MODULES or not root.isidentifier():
            continue
        dist = _env.distribution_of(root)
        if dist is not None:
            if _env.normalize(dist) not in _NEVER_DISTS:
                result.distributions.append(dist)
            continue
        files = _local_files(name)
        if files is None:
            # ``from pkg import attr`` yields candidates that are not modules, and an import
            # inside a helper may sit behind try/except: warn only for names a file refers to.
            if referenced:
                result.unresolved.append(name)
            continue
        new = {rel: path for rel, path in files.items() if rel not in result.local}
        result.local.update(new)
        for rel, path in new.items():
            if path.suffix == ".py":
                module = rel[: -len(".py")].replace("/", ".").removesuffix(".__init__")
                _classify(_imports_of(module, path), result, referenced=False, seen=seen)


def bundle(result: Inferred, model_dir: Path, code_dir: str) -> str | None:
    """Copy the local files found by :func:`infer` into ``model_dir/code_dir``.

    Files already there (given as ``code_paths``) win. Returns ``code_dir`` when anything is
    there afterwards, else None.
    """
    import shutil

    dest = model_dir / code_dir
    for rel, source in sorted(result.local.items()):
        target = dest / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return code_dir if dest.is_dir() else None


def infer(model_dir: Path, objects: Iterable[Any] = ()) -> Inferred:
    """Infer what the files under ``model_dir`` (and ``objects``' classes) need at load time.

    Warns, naming each module, when a module is neither installed from a distribution nor
    available as a local file small enough to bundle.
    """
    modules = _object_modules(objects)
    for root, dirs, names in os.walk(model_dir):
        dirs[:] = [d for d in dirs if d != "code"]  # bundled code is followed via its imports
        for name in names:
            path = Path(root) / name
            if name.endswith(PICKLE_SUFFIXES):
                modules |= modules_in_pickle(path)
            elif name.endswith(".skops"):
                modules |= modules_in_skops(path)
    result = Inferred()
    _classify(modules, result, referenced=True, seen=set())
    result.distributions = sorted(set(result.distributions))
    if result.unresolved:
        warn(
            "the saved model refers to module(s) "
            + ", ".join(repr(m) for m in result.unresolved)
            + " that are neither installed from a distribution nor a local file modelpack can "
            "bundle, so it may fail to load elsewhere; pass their files with code_paths=[...] "
            "or their distributions with extra_pip_requirements=[...]"
        )
    return result
