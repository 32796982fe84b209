from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import modelpack
from modelpack._manifest import FORMAT_VERSION, Manifest, read_manifest, write_manifest
from modelpack.exceptions import ManifestError

DATA = Path(__file__).parent / "data"


def test_round_trip_keeps_unknown_keys(tmp_path: Path) -> None:
    manifest = Manifest(flavors={"python_function": {"loader_module": "x"}}, run_id="r1")
    manifest.extra["written_by_another_tool"] = {"k": 1}
    write_manifest(manifest, tmp_path)
    again = read_manifest(tmp_path)
    assert again.run_id == "r1"
    assert again.extra == {"written_by_another_tool": {"k": 1}}
    assert again.format_version == FORMAT_VERSION


def test_mlflow_keys_are_top_level(taxi_model_dir: Path) -> None:
    data = yaml.safe_load((taxi_model_dir / "MLmodel").read_text())
    for key in (
        "flavors",
        "model_uuid",
        "utc_time_created",
        "signature",
        "model_size_bytes",
        "saved_input_example_info",
    ):
        assert key in data, key
    assert data["modelpack"]["format_version"] == FORMAT_VERSION
    assert data["modelpack"]["preprocessor"]["input"] == "records"
    assert data["flavors"]["python_function"]["loader_module"] == "modelpack.flavors._mlflow_compat"
    assert isinstance(data["signature"]["inputs"], str)  # JSON string, as MLflow writes it


def test_directory_without_modelpack_block_is_version_0(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": {}}}))
    manifest = read_manifest(tmp_path)
    assert manifest.format_version == 0
    assert not manifest.written_by_modelpack


def test_newer_format_version_says_to_upgrade(taxi_model_dir: Path) -> None:
    path = taxi_model_dir / "MLmodel"
    data = yaml.safe_load(path.read_text())
    data["modelpack"]["format_version"] = FORMAT_VERSION + 1
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match="upgrade modelpack"):
        modelpack.load_model(taxi_model_dir)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "no MLmodel file", id="missing"),
        pytest.param("flavors: [unclosed", "not valid YAML", id="bad-yaml"),
        pytest.param("- a list", "must hold a mapping", id="not-a-mapping"),
        pytest.param("model_uuid: x\n", "lists no flavors", id="no-flavors"),
    ],
)
def test_invalid_manifests(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "MLmodel").write_text(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path)


def test_format_v1_fixture_still_loads(tmp_path: Path) -> None:
    """A model written with format version 1 (committed under tests/data) stays loadable."""
    shutil.copytree(DATA / "format_v1", tmp_path / "m")
    model = modelpack.load_model(tmp_path / "m")
    assert model.metadata.format_version == 1
    assert model.predict([{"a": 10.0, "b": 1.0}]).round(6).tolist() == [24.0]
