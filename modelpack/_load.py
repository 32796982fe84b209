"""Loading: URI -> local directory -> verified manifest -> flavor -> PyFuncModel."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._anchor import Anchor, check_anchor, run_anchor, version_anchor
from modelpack._env import REQUIREMENTS_FILE, check_environment
from modelpack._integrity import Problem, check_references, find_problems, verify
from modelpack._manifest import (
    MLMODEL_FILE,
    Manifest,
    PreprocessorInfo,
    parse_manifest,
    read_manifest_bytes,
)
from modelpack._preprocess import load_preprocessor, pickle_files
from modelpack._pyfunc_model import PyFuncModel
from modelpack._serialize import pickle_allowed
from modelpack._uri import (
    ModelURI,
    model_version_for,
    parse_uri,
    resolve_in_store,
    resolve_run,
    resolve_uri,
)

if TYPE_CHECKING:
    from modelpack._signing import KeySource
from modelpack.exceptions import (
    FlavorNotFoundError,
    ManifestError,
    UnsafeModelError,
)
from modelpack.flavors import Flavor, LoadContext, all_flavors, get_flavor

__all__ = [
    "check_model",
    "implementing_flavor",
    "load_native",
    "load_pyfunc",
    "open_model",
    "referenced_files",
]


def _code_of(conf: dict[str, Any], flavor: str) -> str | None:
    code = conf.get("code")
    if code is None or code == "":
        return None
    if not isinstance(code, str):
        raise ManifestError(
            f"MLmodel field 'flavors.{flavor}.code' must be a folder name inside the model, "
            f"got {type(code).__name__}"
        )
    return code


def referenced_files(manifest: Manifest) -> list[str]:
    """Every file or folder loading this model may open (relative to its directory)."""
    refs: list[str] = []
    for name, conf in manifest.flavors.items():
        try:
            flavor = get_flavor(name)
        except FlavorNotFoundError:  # not loadable by modelpack, so never opened
            flavor = None
        if flavor is not None:
            refs += flavor.files(_flavor_conf(manifest, name))
        code = _code_of(conf, name)
        if code:
            refs.append(code)
    model_path = manifest.pyfunc_conf.get("model_path")
    if model_path is not None:
        if not isinstance(model_path, str):
            raise ManifestError(
                "MLmodel field 'flavors.python_function.model_path' must be a file name, got "
                f"{type(model_path).__name__}"
            )
        refs.append(model_path)
    if manifest.preprocessor is not None:
        refs.append(manifest.preprocessor.path)
    refs.append(REQUIREMENTS_FILE)  # read by the environment check when present
    return refs


def check_model(model_dir: Path, manifest: Manifest) -> list[Problem]:
    """Every problem ``load_model`` would refuse, and unlisted files (for ``verify``)."""
    problems = find_problems(model_dir, manifest) if manifest.claims_modelpack else []
    return problems + [
        p
        for p in check_references(model_dir, manifest, _refs(model_dir, manifest))
        if p not in problems
    ]


def _refs(model_dir: Path, manifest: Manifest) -> list[str]:
    refs = referenced_files(manifest)
    if not os.path.lexists(model_dir / REQUIREMENTS_FILE):  # optional: nothing reads it then
        refs.remove(REQUIREMENTS_FILE)
    return refs


def _resolve_anchored(uri: str | os.PathLike[str]) -> tuple[Path, Anchor | None]:
    """The model directory, and for ``models:/`` and ``runs:/`` the MLmodel digest the store
    recorded when the model was registered or logged (None when nothing was recorded)."""
    parsed = parse_uri(uri)
    if parsed.kind not in ("models", "runs"):
        return resolve_uri(uri), None
    from modelpack._store import get_store

    store = get_store()
    if parsed.kind == "runs":
        model_dir, run = resolve_run(store, parsed)
        assert parsed.path is not None
        return model_dir, run_anchor(run, parsed.path)
    version = model_version_for(store, parsed)
    # resolve exactly that version, even if an alias or stage moves meanwhile
    pinned = ModelURI(parsed.raw, "models", name=version.name, version=version.version)
    return resolve_in_store(store, pinned), version_anchor(store, version)


def open_model(
    uri: str | os.PathLike[str],
    *,
    check: bool = True,
    require_signature: KeySource | None = None,
) -> tuple[Path, Manifest]:
    """Resolve ``uri``, read its manifest and verify every recorded digest and every file
    loading opens (see :mod:`modelpack._integrity`); with ``require_signature`` (a public key
    or its path), also the manifest's signature, on the very bytes parsed."""
    model_dir, anchor = _resolve_anchored(uri)
    data = read_manifest_bytes(model_dir)
    if anchor is not None:
        check_anchor(data, anchor)
    if require_signature is not None:
        from modelpack._signing import verify_signature

        verify_signature(model_dir, require_signature, data)
    manifest = parse_manifest(data, path=str(model_dir / MLMODEL_FILE))
    if check:
        verify(model_dir, manifest, refs=_refs(model_dir, manifest))
    return model_dir, manifest


def implementing_flavor(manifest: Manifest) -> str:
    """The flavor that implements ``predict`` for this model.

    modelpack writes it as ``python_function.flavor``; for directories written by MLflow it
    is found from ``loader_module`` (each flavor declares the MLflow module it mirrors).
    """
    conf = manifest.pyfunc_conf
    if not conf:
        raise FlavorNotFoundError(
            "this model has no python_function flavor, so it has no uniform predict; load it "
            f"with its native loader (flavors: {', '.join(manifest.flavors)})"
        )
    if "flavor" in conf:
        return str(conf["flavor"])
    loader = conf.get("loader_module")
    if loader == "mlflow.pyfunc.model" or (loader is None and "python_model" in conf):
        return "python_function"
    for name in all_flavors():
        if get_flavor(name).mlflow_module == loader and name in manifest.flavors:
            return name
    raise FlavorNotFoundError(
        f"this model is loaded by {loader!r}, which modelpack does not support; supported: "
        + ", ".join(sorted(all_flavors())),
        flavor=str(loader),
    )


def _flavor_conf(manifest: Manifest, name: str) -> dict[str, Any]:
    if name == "python_function":
        return manifest.pyfunc_conf
    conf = manifest.flavors[name]
    # MLflow records the method predict calls (pyfunc_predict_fn, e.g. predict_proba) in the
    # python_function flavor; modelpack records it in the flavor's own entry.
    mlflow_fn = manifest.pyfunc_conf.get("predict_fn")
    if mlflow_fn and "predict_fn" not in conf:
        conf = {**conf, "predict_fn": mlflow_fn}
    _check_method_name(conf.get("predict_fn"), name)
    return conf


def _check_method_name(method: Any, flavor: str) -> None:
    """``predict_fn`` names a public method of the model; anything else (a number, a dunder
    such as ``__class__``) comes from a damaged or crafted manifest and is never looked up."""
    if method is None or (
        isinstance(method, str) and method.isidentifier() and not method.startswith("_")
    ):
        return
    raise ManifestError(
        f"MLmodel field 'flavors.{flavor}.predict_fn' must name a public method of the model "
        f"such as 'predict' or 'predict_proba', got {method!r}; restore the MLmodel from the "
        "model's source or save the model again"
    )


def _check_pickle(
    flavor: Flavor,
    conf: dict[str, Any],
    preprocessor: PreprocessorInfo | None,
    allow: bool,
    *,
    code: str | None = None,
) -> None:
    """Refuse before anything is deserialized, naming every pickle file involved (and the
    model's own code folder: importing it runs code just as unpickling does)."""
    if allow:
        return
    files = []
    if flavor.uses_pickle(conf):
        files.append(flavor.data_path(conf) or flavor.name)
    files += pickle_files(preprocessor)
    if code:
        files.append(f"{code}/ (the model's own Python code)")
    if files:
        raise UnsafeModelError(
            f"this model needs pickle to load ({', '.join(files)}), and pickle files can run "
            "arbitrary code; pickle loading is disallowed (allow_pickle=False or "
            "MODELPACK_ALLOW_PICKLE=0). Load it with allow_pickle=True only if you trust its "
            "source, or save it again in a safe format (skops, XGBoost's own)."
        )


def _add_code_paths(model_dir: Path, code: str | None) -> None:
    """Make the model's code folder importable, after installed packages.

    Called only once its files passed their digests (``open_model``). Appended, never put
    first, so a ``code/sklearn.py`` cannot shadow the installed scikit-learn.
    """
    if code:
        path = str(model_dir / code)
        if path not in sys.path:
            sys.path.append(path)


def _trusted(trusted_types: Iterable[str] | None) -> tuple[str, ...]:
    if trusted_types is None:
        return ()
    if isinstance(trusted_types, str):
        raise TypeError("trusted_types must be a list of type names, not one string")
    return tuple(str(t) for t in trusted_types)


def load_native(
    uri: str | os.PathLike[str],
    flavor_name: str,
    *,
    allow_pickle: bool | None = None,
    trusted_types: Iterable[str] | None = None,
    require_signature: KeySource | None = None,
) -> Any:
    """Load the native object of a given flavor (``modelpack.sklearn.load_model`` etc.).

    ``trusted_types``: types a skops file may construct beyond skops' defaults (the caller's
    decision; a list in the model's manifest is ignored). ``require_signature``: a public key
    (PEM bytes or a path) whose valid ``MLmodel.sig`` is required before anything is read.
    """
    model_dir, manifest = open_model(uri, require_signature=require_signature)
    if flavor_name not in manifest.flavors:
        raise FlavorNotFoundError(
            f"the model at {uri} has no {flavor_name!r} flavor; it has "
            f"{', '.join(manifest.flavors)}. Use modelpack.load_model for the uniform interface.",
            flavor=flavor_name,
        )
    flavor = get_flavor(flavor_name)
    conf = _flavor_conf(manifest, flavor_name)
    allow = pickle_allowed(allow_pickle)
    code = _code_of(conf, flavor_name)
    _check_pickle(flavor, conf, None, allow, code=code)
    _add_code_paths(model_dir, code)
    ctx = LoadContext(
        model_dir=model_dir, allow_pickle=allow, trusted_types=_trusted(trusted_types)
    )
    return flavor.load(conf, ctx)


def load_pyfunc(
    uri: str | os.PathLike[str],
    *,
    allow_pickle: bool | None = None,
    strict_env: bool = False,
    trusted_types: Iterable[str] | None = None,
    require_signature: KeySource | None = None,
) -> PyFuncModel:
    """Load any model behind the uniform predict interface (``trusted_types`` and
    ``require_signature``: as for :func:`load_native`)."""
    model_dir, manifest = open_model(uri, require_signature=require_signature)
    name = implementing_flavor(manifest)
    flavor = get_flavor(name)
    conf = _flavor_conf(manifest, name)
    allow = pickle_allowed(allow_pickle)
    code = _code_of(manifest.pyfunc_conf, "python_function")
    _check_pickle(flavor, conf, manifest.preprocessor, allow, code=code)
    check_environment(model_dir, manifest, strict=strict_env)
    _add_code_paths(model_dir, code)
    trusted = _trusted(trusted_types)
    ctx = LoadContext(model_dir=model_dir, allow_pickle=allow, trusted_types=trusted)
    native = flavor.load(conf, ctx)
    return PyFuncModel(
        manifest=manifest,
        model_dir=model_dir,
        flavor=name,
        predictor=flavor.predictor(native, conf, model_dir),
        preprocessor=load_preprocessor(
            model_dir, manifest.preprocessor, allow_pickle=allow, trusted_types=trusted
        ),
    )
