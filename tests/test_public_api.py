"""The public surface: exact names, light import, lazy submodules, third-party flavors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelpack
from modelpack.flavors import Flavor, get_flavor, register_flavor

# Every public name of ``modelpack``, exactly: adding or removing one is a decision, made here.
EXPECTED_PUBLIC = {
    "__version__",
    # models
    "save_model",
    "load_model",
    "log_model",
    "ModelInfo",
    "PyFuncModel",
    "PythonModel",
    "Signature",
    "Schema",
    "ColSpec",
    "TensorSpec",
    "ParamSpec",
    "infer_signature",
    "Flavor",
    "register_flavor",
    # the store
    "set_store_uri",
    "get_store_uri",
    "set_tracking_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "get_registry_uri",
    # experiments
    "create_experiment",
    "get_experiment",
    "get_experiment_by_name",
    "search_experiments",
    "delete_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    # runs
    "autolog",
    "start_run",
    "active_run",
    "end_run",
    "ActiveRun",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "set_tag",
    "set_tags",
    "set_experiment",
    "get_run",
    "get_metric_history",
    "search_runs",
    "delete_run",
    "delete_tag",
    "last_active_run",
    # artifacts
    "log_artifact",
    "log_artifacts",
    "log_text",
    "log_dict",
    "log_figure",
    "log_image",
    "get_artifact_uri",
    "Run",
    "Experiment",
    "Metric",
    # the registry
    "register_model",
    "create_registered_model",
    "get_registered_model",
    "search_registered_models",
    "update_registered_model",
    "delete_registered_model",
    "set_registered_model_tag",
    "delete_registered_model_tag",
    "get_model_version",
    "get_model_version_by_alias",
    "get_latest_versions",
    "search_model_versions",
    "update_model_version",
    "delete_model_version",
    "set_model_version_tag",
    "delete_model_version_tag",
    "set_alias",
    "delete_alias",
    "transition_model_version_stage",
    "rename_registered_model",
    "create_model_version",
    "copy_model_version",
    "set_registered_model_alias",
    "delete_registered_model_alias",
    "get_model_version_download_uri",
    "ModelVersion",
    "RegisteredModel",
    # the client (MlflowClient is the same class, by its MLflow name)
    "Client",
    "MlflowClient",
    "MlflowException",
    # batch scoring
    "predict_file",
    "spark_udf",
    # submodules
    "artifacts",
    "client",
    "entities",
    "models",
    "tracking",
    "exceptions",
    "pyfunc",
    "serving",
    "sklearn",
    "xgboost",
}


def test_public_names_are_exactly_the_intended_ones() -> None:
    assert len(modelpack.__all__) == len(set(modelpack.__all__))
    assert set(modelpack.__all__) == EXPECTED_PUBLIC
    assert set(dir(modelpack)) == EXPECTED_PUBLIC


@pytest.mark.parametrize("name", sorted(EXPECTED_PUBLIC))
def test_public_name_resolves(name: str) -> None:
    assert getattr(modelpack, name) is not None


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        modelpack.nope  # noqa: B018


def test_an_mlflow_name_modelpack_lacks_says_so() -> None:
    from modelpack.exceptions import NotSupportedError

    with pytest.raises(NotSupportedError, match=r"mlflow\.evaluate.*modelpack does not implement"):
        modelpack.evaluate  # noqa: B018
    assert not hasattr(modelpack, "evaluate")  # still an AttributeError for probing tools


def test_import_is_light() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        import modelpack
        heavy = ["numpy", "pandas", "sklearn", "xgboost", "starlette", "uvicorn", "skops",
                 "cloudpickle", "pyarrow", "mlflow", "scipy"]
        print(json.dumps([m for m in heavy if m in sys.modules]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_cli_help_is_light() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from modelpack.cli import build_parser; build_parser();"
            " print(sorted(m for m in ('numpy','pandas','sklearn','xgboost') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


class _Dummy(Flavor):
    name = "sklearn"

    def save(self, obj, ctx):  # type: ignore[no-untyped-def]
        return {}

    def load(self, conf, ctx):  # type: ignore[no-untyped-def]
        return None

    def predictor(self, native, conf, model_dir):  # type: ignore[no-untyped-def]
        return None


def test_registering_a_taken_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_flavor(_Dummy)


def test_third_party_flavor_through_entry_points(tmp_path: Path) -> None:
    """A package installed with a 'modelpack.flavors' entry point is found by name."""
    pkg = tmp_path / "site"
    (pkg / "constflavor").mkdir(parents=True)
    (pkg / "constflavor" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from modelpack.flavors import Flavor

            class Const:
                def __init__(self, value):
                    self.value = value

            class _Pred:
                input_kind = "any"
                row_wise = True
                def __init__(self, value):
                    self.value = value
                def predict(self, data, params=None):
                    return [self.value] * len(data)

            class ConstFlavor(Flavor):
                name = "const"
                def can_save(self, obj):
                    return isinstance(obj, Const)
                def save(self, obj, ctx):
                    (ctx.model_dir / "value.txt").write_text(str(obj.value))
                    return {"data": "value.txt"}
                def load(self, conf, ctx):
                    return Const(float((ctx.model_dir / conf["data"]).read_text()))
                def predictor(self, native, conf, model_dir):
                    return _Pred(native.value)
            """
        )
    )
    info = pkg / "constflavor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: constflavor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[modelpack.flavors]\nconst = constflavor:ConstFlavor\n")
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(pkg)!r})
        import modelpack
        from constflavor import Const
        modelpack.save_model(Const(7.0), {str(tmp_path / "m")!r})
        m = modelpack.load_model({str(tmp_path / "m")!r})
        print(m.flavor, m.predict([1, 2, 3]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "const [7.0, 7.0, 7.0]"


def test_builtin_flavors_resolve() -> None:
    assert get_flavor("sklearn").name == "sklearn"
    assert get_flavor("xgboost").mlflow_module == "mlflow.xgboost"
