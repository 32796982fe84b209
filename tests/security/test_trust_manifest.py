"""Hostile MLmodel files: size, aliases, non-regular files, bad encodings and wrong types are
refused with a ManifestError naming the problem, never a hang, a memory blow-up or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelpack
from modelpack._manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest, read_manifest
from modelpack.exceptions import ManifestError

_MINIMAL = b"flavors:\n  python_function: {loader_module: mlflow.sklearn, model_path: m.pkl}\n"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args], capture_output=True, text=True, timeout=120
    )


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (tmp_path / "MLmodel").write_text(_MINIMAL.decode() + "\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match="anchor or alias"):
        read_manifest(tmp_path)
    result = _cli("info", str(tmp_path))
    assert result.returncode != 0
    assert "anchor or alias" in result.stderr
    assert len(result.stdout) < 1000
    assert "Traceback" not in result.stderr


def test_a_star_in_a_value_still_reads(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_bytes(_MINIMAL + b"metadata: {note: 'a * b & c'}\n")
    assert read_manifest(tmp_path).metadata == {"note": "a * b & c"}


def test_oversized_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_bytes(_MINIMAL + b"# " + b"x" * MAX_MANIFEST_BYTES + b"\n")
    with pytest.raises(ManifestError, match="larger than"):
        read_manifest(tmp_path)


def test_size_limit_can_be_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "MLmodel").write_bytes(_MINIMAL + b"# " + b"x" * MAX_MANIFEST_BYTES + b"\n")
    monkeypatch.setenv("MODELPACK_MAX_MANIFEST_BYTES", str(4 * MAX_MANIFEST_BYTES))
    assert "python_function" in read_manifest(tmp_path).flavors


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null"], ids=["zero", "null"])
def test_device_manifest_is_refused(tmp_path: Path, target: str) -> None:
    os.symlink(target, tmp_path / "MLmodel")
    with pytest.raises(ManifestError, match="not a regular file"):
        read_manifest(tmp_path)


def test_fifo_manifest_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "MLmodel")
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_manifest(tmp_path)
        except BaseException as e:
            outcome.append(e)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader before failing
        with open(tmp_path / "MLmodel", "wb"):
            pass
        pytest.fail("reading a FIFO manifest blocked")
    assert isinstance(outcome[0], ManifestError)


def test_fifo_manifest_cli_one_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "MLmodel")
    result = _cli("verify", str(tmp_path))
    assert result.returncode != 0
    assert "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_non_utf8_manifest(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_bytes(_MINIMAL + b"metadata: {a: \xff\xfe}\n")
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_manifest(tmp_path)
    result = _cli("info", str(tmp_path))
    assert result.returncode != 0 and "not UTF-8" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("flavors: [a, b]\n", "flavors"),
        ("flavors: {sklearn: 3}\n", "flavors.sklearn"),
        ("flavors: {sklearn: {}}\nsignature: [1]\n", "signature"),
        ("flavors: {sklearn: {}}\nmodel_size_bytes: lots\n", "model_size_bytes"),
        ("flavors: {sklearn: {}}\nrun_id: {a: 1}\n", "run_id"),
        ("flavors: {sklearn: {}}\nmodelpack: [1]\n", "modelpack"),
        ("flavors: {sklearn: {}}\nmodelpack: {format_version: 1, files: [a]}\n", "modelpack.files"),
        ("flavors: {sklearn: {}}\nmodelpack: {format_version: [1]}\n", "format_version"),
        (
            "flavors: {sklearn: {}}\nmodelpack: {format_version: 1, preprocessor: 3}\n",
            "preprocessor",
        ),
    ],
    ids=[
        "flavors-list",
        "flavor-int",
        "signature-list",
        "size-text",
        "run-id-map",
        "block-list",
        "files-list",
        "format-list",
        "preprocessor-int",
    ],
)
def test_wrong_types_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    (tmp_path / "MLmodel").write_text(text)
    with pytest.raises(ManifestError, match=field.replace(".", r"\.")):
        read_manifest(tmp_path)
    result = _cli("info", str(tmp_path))
    assert result.returncode != 0 and field in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_real_manifest_round_trips(taxi_model_dir: Path) -> None:
    manifest = read_manifest(taxi_model_dir)
    assert manifest.files and manifest.digest
    assert modelpack.load_model(taxi_model_dir).metadata.files == manifest.files


# --------------------------------------------------------------------------- fuzzing
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.binary(max_size=4)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["flavors", "modelpack", "signature", "run_id", "model_size_bytes", "metadata", "files"]
)
_mappings = st.dictionaries(st.one_of(_keys, st.text(max_size=4)), _values, max_size=5)
_yamlish = st.lists(
    st.sampled_from(
        [
            b"flavors:",
            b"  sklearn:",
            b"    pickled_model: m.pkl",
            b"modelpack:",
            b"  format_version: 1",
            b"  files: {a: b}",
            b"&a [1]",
            b"*a",
            b"- [",
            b"{",
            b"? x",
            b": :",
            b"\xff",
            b"!!python/object:os.system",
            b"'",
            b"%YAML 1.1",
            b"---",
            b"\t",
        ]
    )
    | st.binary(max_size=6),
    max_size=12,
).map(b"\n".join)


def _only_manifest_errors(data: bytes) -> None:
    try:
        result = parse_manifest(data)
    except ManifestError:
        return
    assert isinstance(result, Manifest)
    result.to_dict()
    _ = result.claims_modelpack, result.pyfunc_conf


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_yamlish)
def test_fuzz_yamlish_bytes(data: bytes) -> None:
    _only_manifest_errors(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mappings)
def test_fuzz_mappings(mapping: dict[object, object]) -> None:
    try:
        data = yaml.safe_dump(mapping).encode()
    except yaml.YAMLError:
        return
    _only_manifest_errors(data)
