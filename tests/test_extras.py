"""Each pip extra declares exactly the libraries its code imports, and names itself when one is missing.

The imports are read from the source (import statements, ``require("module", ...)`` and
``importlib.import_module("module")`` with a literal name), so a new import in ``serving/``
without a matching line in the ``serve`` extra fails here rather than on a user's machine.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from modelpack.exceptions import MissingDependencyError

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "modelpack"

#: the code each extra serves, as paths under modelpack/ (a file listed for one extra is left
#: out of a folder listed for another)
AREAS: dict[str, list[str]] = {
    "serve": ["serving"],
    "grpc": ["serving/_grpc.py", "serving/proto"],
    "postgres": ["_store/_postgres_db.py"],
    "ui": ["ui", "cli/_ui.py"],
    "server": ["server"],
    "batch": ["batch"],
    "spark": ["batch/_spark.py"],
    "pack": ["pack"],
    "sklearn": ["sklearn.py", "flavors/sklearn.py", "_skops.py"],
    "xgboost": ["xgboost.py", "flavors/xgboost.py"],
    "testing": ["testing"],
}

#: import name -> the distributions that provide it (the import name itself otherwise)
DISTRIBUTIONS: dict[str, set[str]] = {
    "sklearn": {"scikit-learn"},
    "yaml": {"pyyaml"},
    "conda_pack": {"conda-pack"},
    "xgboost": {"xgboost", "xgboost-cpu"},
    "grpc": {"grpcio"},
    "google": {"protobuf"},
}

#: what an extra installs for code outside its area: the core turns input into a DataFrame for
#: models that consume one, which only scikit-learn and XGBoost models do
THROUGH_THE_CORE: dict[str, set[str]] = {"sklearn": {"pandas"}, "xgboost": {"pandas"}}

_LOADERS = {"require", "import_module"}


def _project() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


def _names(requirements: list[str]) -> set[str]:
    return {
        canonicalize_name(r.name) for r in map(Requirement, requirements) if r.name != "modelpack"
    }


def _declared(extra: str) -> set[str]:
    return _names(_project()["optional-dependencies"][extra])


def _base() -> set[str]:
    return _names(_project()["dependencies"])


def _dists(module: str) -> set[str]:
    top = module.partition(".")[0]
    return {canonicalize_name(d) for d in DISTRIBUTIONS.get(top, {top})}


def _third_party(module: str) -> bool:
    top = module.partition(".")[0]
    return top not in sys.stdlib_module_names and top not in ("modelpack", "__future__")


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, leaving out ``if TYPE_CHECKING:`` blocks (imports for type checkers only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for child in node.orelse:
                yield child
                yield from _runtime_nodes(child)
            continue
        yield node
        yield from _runtime_nodes(node)


def _loaded(node: ast.AST) -> tuple[str, ast.Call] | None:
    """``("pandas", call)`` for ``require("pandas", ...)`` or ``import_module("pandas")``."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    first = node.args[0]
    if name in _LOADERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value, node
    return None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (loaded := _loaded(node)) is not None:
            found.add(loaded[0])
    return {m for m in found if _third_party(m)}


def _files(extra: str) -> list[Path]:
    claimed = {PACKAGE / p for other, paths in AREAS.items() if other != extra for p in paths}
    out = []
    for rel in AREAS[extra]:
        path = PACKAGE / rel
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        # a file or folder inside this one that another extra lists is that extra's
        inner = {c for c in claimed if path in c.parents}
        out += [f for f in files if not ({f, *f.parents} & inner)]
    assert out, f"no files for the {extra} extra under {AREAS[extra]}"
    return out


def _area_imports(extra: str) -> dict[str, list[str]]:
    """Third-party import name -> the files of the area that import it."""
    where: dict[str, list[str]] = {}
    for path in _files(extra):
        for module in _imports(path):
            where.setdefault(module, []).append(str(path.relative_to(ROOT)))
    return where


@pytest.mark.parametrize("extra", sorted(AREAS))
def test_extra_covers_every_import_of_its_code(extra: str) -> None:
    available = _declared(extra) | _base()
    missing = {
        module: files
        for module, files in _area_imports(extra).items()
        if not _dists(module) & available
    }
    assert not missing, f"the {extra} extra lacks what these imports need: {missing}"


@pytest.mark.parametrize("extra", sorted(AREAS))
def test_extra_declares_nothing_its_code_does_not_import(extra: str) -> None:
    used = {d for module in _area_imports(extra) for d in _dists(module)}
    unused = _declared(extra) - used - THROUGH_THE_CORE.get(extra, set())
    assert not unused, f"the {extra} extra declares {sorted(unused)}, which its code never imports"


def test_every_require_names_an_extra_that_installs_the_library() -> None:
    extras = _project()["optional-dependencies"]
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            loaded = _loaded(node)
            if loaded is None or len(loaded[1].args) < 2:
                continue
            module, call = loaded
            extra = call.args[1]
            if not (isinstance(extra, ast.Constant) and isinstance(extra.value, str)):
                continue  # a flavor's own ``extra`` attribute; its area is checked above
            if extra.value not in extras or not _dists(module) & _declared(extra.value):
                wrong.append(f"{path.relative_to(ROOT)}:{call.lineno} {module} -> {extra.value}")
    assert not wrong, "require() names an extra that does not install the library: " + str(wrong)


# ----------------------------------------------------------------- a missing library at run time
def _hide(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make ``module`` (and anything under it) look uninstalled."""
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)


def _spark_udf(tmp_path: Path) -> Any:
    from modelpack.batch import spark_udf

    return spark_udf(None, tmp_path)  # the check comes before the session is touched


def _conda_pack(tmp_path: Path) -> Any:
    from modelpack.pack._conda import pack_conda_env

    return pack_conda_env(tmp_path, tmp_path)


def _resolve_wheels(tmp_path: Path) -> Any:
    from modelpack.pack._wheelhouse import resolve

    return resolve(["numpy"])


@pytest.mark.parametrize(
    ("run", "module", "extra"),
    [
        (_spark_udf, "pyspark", "spark"),
        (_spark_udf, "pyarrow", "spark"),
        (_conda_pack, "conda_pack", "pack"),
        (_resolve_wheels, "pip", "pack"),
    ],
    ids=["spark_udf-without-pyspark", "spark_udf-without-pyarrow", "conda-pack", "pip"],
)
def test_missing_library_is_reported_with_its_extra(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run: Callable[[Path], Any],
    module: str,
    extra: str,
) -> None:
    _hide(monkeypatch, module)
    with pytest.raises(MissingDependencyError, match=rf'pip install "modelpack\[{extra}\]"') as e:
        run(tmp_path)
    assert e.value.extra == extra
