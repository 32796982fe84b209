"""Writing and reading objects (``modelpack._serialize``): formats by name, errors with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import modelpack
from modelpack._integrity import compute_digests
from modelpack._serialize import FORMATS, dump_object, load_object
from modelpack.exceptions import ManifestError, UnsafeModelError


class Custom:
    """A type of the tests' own, which skops does not trust by default."""

    def transform(self, x: Any) -> Any:
        return x


@pytest.mark.parametrize("fmt", [None, *FORMATS])
def test_each_format_round_trips(tmp_path: Path, taxi_dv_lr: Any, fmt: str | None) -> None:
    name, written = dump_object(taxi_dv_lr[0], tmp_path, "dv", fmt=fmt)
    assert written == (fmt or "skops")
    assert name == ("dv.skops" if written == "skops" else "dv.pkl")
    back = load_object(tmp_path / name, written)
    assert back.vocabulary_ == taxi_dv_lr[0].vocabulary_


def test_an_unknown_format_names_the_accepted_ones(tmp_path: Path, taxi_dv_lr: Any) -> None:
    with pytest.raises(ManifestError, match="'skops', 'cloudpickle', 'pickle'"):
        modelpack.sklearn.save_model(taxi_dv_lr[1], tmp_path / "m", serialization_format="joblib")
    assert not (tmp_path / "m").exists()


def test_skops_by_name_says_which_types_it_does_not_trust(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"test_serialize\.Custom.*'cloudpickle'"):
        dump_object(Custom(), tmp_path, "obj", fmt="skops")
    assert list(tmp_path.iterdir()) == []


def test_untrusted_types_in_a_skops_file_are_refused_by_name(tmp_path: Path) -> None:
    import skops.io as sio

    (tmp_path / "obj.skops").write_bytes(sio.dumps(Custom()))
    with pytest.raises(UnsafeModelError, match=r"test_serialize\.Custom.*skops_trusted_types"):
        load_object(tmp_path / "obj.skops", "skops")


def test_a_manifest_naming_an_unknown_format_is_a_manifest_error(taxi_model_dir: Path) -> None:
    mlmodel = taxi_model_dir / "MLmodel"
    data = yaml.safe_load(mlmodel.read_text())
    data["flavors"]["sklearn"]["serialization_format"] = "joblib"
    data["modelpack"]["files"] = compute_digests(taxi_model_dir)
    mlmodel.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match="serialization_format 'joblib'.*upgrade modelpack"):
        modelpack.sklearn.load_model(taxi_model_dir)


def test_a_predict_method_the_model_lacks_names_those_it_has(
    tmp_path: Path, taxi_dv_lr: Any
) -> None:
    with pytest.raises(ManifestError, match=r"predict_method='predict_proba'.*\(predict\)"):
        modelpack.sklearn.save_model(taxi_dv_lr[1], tmp_path / "m", predict_method="predict_proba")
    assert not (tmp_path / "m").exists()
