"""The one save pipeline every flavor goes through.

user object -> flavor.save -> core writes preprocessor, input example, signature, environment,
digests and manifest -> the directory is renamed into place. All of it happens in a temporary
directory beside the target, so a crash or an exception never leaves a half-written model,
and an existing model is only replaced once the new one is complete (``_swap`` keeps the old
or the new model at the path at every instant, and gives the directory the umask's modes).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelpack import _env, _requirements
from modelpack._crash import crash_point
from modelpack._integrity import compute_digests
from modelpack._manifest import Manifest, write_manifest
from modelpack._preprocess import first_stage, input_kind_of, save_preprocessor
from modelpack._pyfunc_model import PyFuncModel
from modelpack._python_model import as_python_model
from modelpack._safe_copy import copy_model_file, copy_model_tree
from modelpack._signature import Signature, infer_schema, infer_signature, is_dataframe
from modelpack._swap import apply_umask, move_into_place, recover, temp_dir_for
from modelpack.exceptions import ModelExistsError, warn
from modelpack.flavors import Flavor, SaveContext, flavor_for_object, get_flavor

__all__ = ["ModelInfo", "SaveOptions", "save", "save_into"]

MLFLOW_LOADER = "modelpack.flavors._mlflow_compat"
EXAMPLE_FILE = "input_example.json"
SERVING_EXAMPLE_FILE = "serving_input_example.json"
CODE_DIR = "code"


@dataclass(frozen=True)
class SaveOptions:
    """Everything a public ``save_model``/``log_model`` passes to the core."""

    flavor: str | None = None
    flavor_options: dict[str, Any] = field(default_factory=dict)
    preprocessor: Any = None
    signature: Signature | Mapping[str, Any] | bool | None = None
    input_example: Any = None
    pip_requirements: Sequence[str] | None = None
    extra_pip_requirements: Sequence[str] | None = None
    code_paths: Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    overwrite: bool = False
    run_id: str | None = None
    artifact_path: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """What a save or log produced."""

    model_uri: str
    model_dir: str
    flavors: dict[str, dict[str, Any]]
    model_uuid: str
    utc_time_created: str
    signature: Signature | None
    saved_input_example_info: dict[str, Any] | None
    metadata: dict[str, Any] | None
    run_id: str | None = None
    artifact_path: str | None = None
    registered_model_version: int | None = None

    @classmethod
    def from_manifest(cls, manifest: Manifest, model_dir: Path, model_uri: str) -> ModelInfo:
        return cls(
            model_uri=model_uri,
            model_dir=str(model_dir),
            flavors=manifest.flavors,
            model_uuid=manifest.model_uuid,
            utc_time_created=manifest.utc_time_created,
            signature=Signature.from_dict(manifest.signature) if manifest.signature else None,
            saved_input_example_info=manifest.saved_input_example_info,
            metadata=manifest.metadata,
            run_id=manifest.run_id,
            artifact_path=manifest.artifact_path,
        )


def save(model: Any, path: str | Path, options: SaveOptions) -> ModelInfo:
    """Save ``model`` at ``path`` atomically and return its :class:`ModelInfo`."""
    target = Path(path).expanduser().absolute()
    recover(target)  # a save of this path that died between its two renames
    if target.exists() and not options.overwrite and (target.is_file() or any(target.iterdir())):
        raise ModelExistsError(
            f"{target} already exists; pass overwrite=True to replace it, or choose another path"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_for(target)
    try:
        manifest = save_into(model, tmp, options)
        apply_umask(tmp)
        crash_point("save-before-move")
        move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ModelInfo.from_manifest(manifest, target, str(target))


def save_into(model: Any, model_dir: Path, options: SaveOptions) -> Manifest:
    """Write every file of the model into an existing empty directory."""
    flavor = get_flavor(options.flavor) if options.flavor else flavor_for_object(model)
    conf = flavor.save(
        model, SaveContext(model_dir=model_dir, options=dict(options.flavor_options))
    )
    manifest = Manifest(run_id=options.run_id, artifact_path=options.artifact_path)
    manifest.metadata = dict(options.metadata) if options.metadata else None

    requirements = flavor.requirements(conf)
    manifest.preprocessor, pre_requirements = save_preprocessor(options.preprocessor, model_dir)
    requirements += pre_requirements

    code_dir = _copy_code(options.code_paths, model_dir)
    # What the written files reference: distributions, plus local helper modules bundled
    # into code/ so the model loads from any working directory.
    inferred = _requirements.infer(model_dir, (model, options.preprocessor))
    requirements += inferred.distributions
    code_dir = _requirements.bundle(inferred, model_dir, CODE_DIR) or code_dir
    _write_flavors(manifest, flavor, conf, code_dir)
    if options.input_example is not None:
        manifest.saved_input_example_info = _write_example(options.input_example, model_dir)
    manifest.signature = _signature(model, flavor, conf, manifest, model_dir, options)

    _, consumed = first_stage(
        options.preprocessor, manifest.preprocessor, _model_input_kind(model, flavor)
    )
    requirements += ["modelpack", "numpy"] + (["pandas"] if consumed == "frame" else [])
    if options.pip_requirements is not None:
        lines = list(options.pip_requirements)
    else:
        lines = _env.pin([r for r in requirements if r])
    lines += list(options.extra_pip_requirements or ())
    _env.write_environment(model_dir, lines)

    manifest.files = compute_digests(model_dir)
    manifest.model_size_bytes = sum((model_dir / rel).stat().st_size for rel in manifest.files)
    write_manifest(manifest, model_dir)
    return manifest


def _model_input_kind(model: Any, flavor: Flavor) -> str:
    """What ``model`` consumes as the first stage, judged without loading anything."""
    if flavor.name == "python_function":  # a plain callable is wrapped as a PythonModel
        return str(getattr(as_python_model(model), "input_kind", "frame"))
    return getattr(model, "input_kind", None) or input_kind_of(model)


def _write_flavors(
    manifest: Manifest, flavor: Flavor, conf: dict[str, Any], code: str | None
) -> None:
    pyfunc: dict[str, Any] = {
        "loader_module": MLFLOW_LOADER,
        "python_version": _env.python_version(),
        "env": {"conda": _env.CONDA_FILE, "virtualenv": _env.PYTHON_ENV_FILE},
        "code": code,
    }
    pyfunc["flavor"] = flavor.name
    if flavor.name == "python_function":
        pyfunc.update(conf)
    else:
        data = flavor.data_path(conf)
        if data:
            pyfunc["model_path"] = data
        if code:
            conf["code"] = code
        manifest.flavors[flavor.name] = conf
    manifest.flavors["python_function"] = pyfunc


def _copy_code(code_paths: Sequence[str] | None, model_dir: Path) -> str | None:
    if not code_paths:
        return None
    dest = model_dir / CODE_DIR
    dest.mkdir()
    for source in code_paths:
        src = Path(source)
        # As for a python_function model's artifacts: the path named may be a link (the
        # caller's choice), but nothing inside a named folder is followed, so a link there
        # never carries a file from elsewhere into a model that others will load.
        action = f"save the code path {source!r} from"
        if src.is_dir():
            copy_model_tree(
                src, dest / src.name, action=action, skip=("__pycache__",), tree="the code folder"
            )
        elif src.exists():
            copy_model_file(src, dest / src.name, action=action)
        else:
            raise FileNotFoundError(f"code path {source} does not exist")
    return CODE_DIR


# ---------------------------------------------------------------------- input example
def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} into the input example")


def _split(example: Any) -> dict[str, Any] | None:
    """An example as MLflow's ``split`` layout (columns + rows), when it is tabular."""
    if is_dataframe(example):
        return {"columns": [str(c) for c in example.columns], "data": example.to_numpy().tolist()}
    if isinstance(example, Mapping):
        from modelpack._tables import as_table

        table = as_table(example)
        records = table.to_records()
        return {"columns": table.names, "data": [list(r.values()) for r in records]}
    if isinstance(example, (list, tuple)) and example and isinstance(example[0], Mapping):
        columns = list(dict.fromkeys(k for r in example for k in r))
        return {"columns": columns, "data": [[r.get(c) for c in columns] for r in example]}
    return None


def _write_example(example: Any, model_dir: Path) -> dict[str, Any]:
    split = _split(example)
    info: dict[str, Any] = {"artifact_path": EXAMPLE_FILE}
    if split is not None:
        body, serving = split, {"dataframe_split": split}
        info.update(type="dataframe", pandas_orient="split")
    else:
        import numpy as np

        arr = np.asarray(example)
        body, serving = arr.tolist(), {"inputs": arr.tolist()}
        info.update(type="ndarray", format="tf-serving")
    (model_dir / EXAMPLE_FILE).write_text(json.dumps(body, default=_json_default), "utf-8")
    (model_dir / SERVING_EXAMPLE_FILE).write_text(
        json.dumps(serving, default=_json_default, indent=2), "utf-8"
    )
    info["serving_input_path"] = SERVING_EXAMPLE_FILE
    return info


# ---------------------------------------------------------------------- signature
def _signature(
    model: Any,
    flavor: Flavor,
    conf: dict[str, Any],
    manifest: Manifest,
    model_dir: Path,
    options: SaveOptions,
) -> dict[str, Any] | None:
    sig = options.signature
    if sig is False:
        return None
    if isinstance(sig, Signature):
        return sig.to_dict()
    if isinstance(sig, Mapping):
        return Signature.from_dict(sig).to_dict()  # validates
    example = options.input_example
    if example is None:
        return None
    inputs = infer_signature(example).inputs
    outputs = None
    manifest.signature = Signature(inputs=inputs).to_dict()
    try:
        model_fn = _in_memory_model(model, flavor, conf, manifest, model_dir, options.preprocessor)
        outputs = infer_schema(_as_output(model_fn.predict(example)))
    except Exception as e:  # the example may not be predictable; the inputs still are useful
        warn(f"could not infer the output schema by predicting the input example: {e}")
    return Signature(inputs=inputs, outputs=outputs).to_dict()


def _as_output(output: Any) -> Any:
    if isinstance(output, list) and output and not isinstance(output[0], Mapping):
        import numpy as np

        return np.asarray(output)
    return output


def _in_memory_model(
    model: Any,
    flavor: Flavor,
    conf: dict[str, Any],
    manifest: Manifest,
    model_dir: Path,
    preprocessor: Any,
) -> PyFuncModel:
    return PyFuncModel(
        manifest=manifest,
        model_dir=model_dir,
        flavor=flavor.name,
        predictor=flavor.predictor(model, conf, model_dir),
        preprocessor=preprocessor,
    )
