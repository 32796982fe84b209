"""Scoring Spark DataFrames: a pandas UDF (Arrow batches) around any modelpack model.

The driver resolves the model URI and ships the model directory with the job
(``SparkContext.addFile``), so executors need no access to the store. Each executor's Python
worker loads the model once and keeps it in :data:`_MODELS`, keyed by the shipped name (which
holds the model's uuid); Spark reuses Python workers across tasks, so later batches and tasks
hit the cache. The UDF's input becomes a pandas DataFrame and goes through the same
:func:`~modelpack.batch._predict.score_frame` and result handling as file scoring.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._predict_methods import METHODS, PARAM, check_method
from modelpack._safe_copy import copy_model_tree
from modelpack._signature import is_dataframe
from modelpack.batch._errors import BatchError
from modelpack.batch._predict import score_frame
from modelpack.batch._results import as_array, prediction_columns
from modelpack.exceptions import SchemaError

if TYPE_CHECKING:
    from modelpack._manifest import Manifest
    from modelpack.pyfunc import PyFuncModel

__all__ = ["spark_udf"]

#: executor side: models loaded by this Python worker, by shipped name
_MODELS: dict[str, PyFuncModel] = {}
#: driver side: (Spark application id, shipped name) pairs already added to the job
_SHIPPED: set[tuple[str, str]] = set()

# result type name -> (Spark type class name, numpy dtype of the values)
_SCALARS = {
    "double": ("DoubleType", "float64"),
    "float": ("FloatType", "float32"),
    "long": ("LongType", "int64"),
    "bigint": ("LongType", "int64"),
    "integer": ("IntegerType", "int32"),
    "int": ("IntegerType", "int32"),
    "boolean": ("BooleanType", "bool"),
    "string": ("StringType", "str"),
}
_BY_CLASS = {cls: dtype for cls, dtype in _SCALARS.values()}


def _result_type(result_type: Any) -> tuple[Any, str, bool]:
    """The Spark type, the numpy dtype of its values, and whether it is an array.

    A struct type has the dtype ``"struct"``: one field per output column (see ``_to_frame``).
    """
    from pyspark.sql import types as T

    if isinstance(result_type, T.StructType):
        for field in result_type.fields:
            if type(field.dataType).__name__ not in _BY_CLASS:
                raise BatchError(
                    f"unsupported type {field.dataType} for field {field.name!r} of the "
                    "struct result_type; fields are double, float, long, integer, boolean or "
                    "string"
                )
        return result_type, "struct", False

    if isinstance(result_type, str):
        text = result_type.strip().lower()
        inner = re.fullmatch(r"array\s*<\s*(\w+)\s*>", text)
        name = inner.group(1) if inner else text
        if name not in _SCALARS:
            raise BatchError(
                f"unsupported result_type {result_type!r}; use one of {', '.join(_SCALARS)}, "
                "'array<TYPE>' or a pyspark.sql.types DataType of those"
            )
        element = getattr(T, _SCALARS[name][0])()
        result_type = T.ArrayType(element) if inner else element
    is_array = isinstance(result_type, T.ArrayType)
    element = result_type.elementType if is_array else result_type
    dtype = _BY_CLASS.get(type(element).__name__)
    if dtype is None:
        raise BatchError(
            f"unsupported result_type {result_type}; the UDF returns double, float, long, "
            "integer, boolean or string values, or arrays of them"
        )
    return result_type, dtype, is_array


def _shipped_name(model_dir: Path, manifest: Manifest) -> str:
    key = manifest.model_uuid
    if not key:  # directories written by older MLflow versions carry no uuid
        stamp = f"{model_dir}:{(model_dir / 'MLmodel').stat().st_mtime_ns}"
        key = hashlib.sha256(stamp.encode()).hexdigest()[:32]
    return f"modelpack-model-{key}"


def _ship(sc: Any, model_dir: Path, name: str) -> None:
    """Add the model directory to the job under a name unique to this model."""
    if (sc.applicationId, name) in _SHIPPED:
        return
    # Spark names an added directory after its last path component, so stage the model
    # under its unique name; hard links make that free on the same file system. Spark would
    # ship whatever a link in the model points at to every executor: copy_model_tree refuses
    # a link, FIFO or device (IntegrityError naming it) before anything is staged.
    staging = tempfile.mkdtemp(prefix="modelpack-spark-")
    atexit.register(shutil.rmtree, staging, True)
    target = Path(staging) / name
    copy_model_tree(model_dir, target, action="ship to Spark", link=True)
    sc.addFile(str(target), recursive=True)
    _SHIPPED.add((sc.applicationId, name))


def _load(name: str, allow_pickle: bool | None) -> PyFuncModel:
    model = _MODELS.get(name)
    if model is None:
        from pyspark import SparkFiles

        from modelpack._load import load_pyfunc

        model = load_pyfunc(SparkFiles.get(name), allow_pickle=allow_pickle)
        _MODELS[name] = model
    return model


def _frame(columns: tuple[Any, ...], names: list[str] | None) -> Any:
    """The UDF's arguments as one DataFrame named after the signature's columns."""
    import pandas as pd

    if len(columns) == 1 and is_dataframe(columns[0]):  # a struct column
        return columns[0]
    if names is None:
        return pd.concat(columns, axis=1)
    if len(columns) > len(names):
        raise SchemaError(
            f"the model takes {len(names)} column(s) ({', '.join(names)}) but the UDF got "
            f"{len(columns)}; pass the columns in this order, or one struct(...) column whose "
            "fields are named after them"
        )
    return pd.DataFrame(
        {name: column.to_numpy() for name, column in zip(names, columns)},
        index=columns[0].index,
    )


def _to_frame(pred: Any, nrows: int, struct: Any) -> Any:
    """The output columns as the struct's fields, matched by name (a class label, a column of
    a DataFrame output) or, for an unlabelled 2-D output, by position."""
    import pandas as pd

    names = [field.name for field in struct.fields]
    columns = prediction_columns(pred, nrows, name="")
    if len(columns) == 1 and len(names) > 1:
        raise BatchError(
            f"the model returns one value per row, but the struct result_type has "
            f"{len(names)} fields; use a scalar result_type"
        )
    found = {key[1:]: value for key, value in columns.items()}  # "_<label>" -> "<label>"
    if not all(name in found for name in names):
        found = dict(zip(names, columns.values())) if len(columns) == len(names) else {}
    missing = [name for name in names if name not in found]
    if missing:
        raise BatchError(
            f"the struct result_type has field(s) {', '.join(map(repr, missing))} the model's "
            f"output does not; it gives {', '.join(k[1:] or repr('') for k in columns)}"
        )
    return pd.DataFrame(
        {
            field.name: _cast(found[field.name], _BY_CLASS[type(field.dataType).__name__])
            for field in struct.fields
        }
    )


def _cast(values: Any, dtype: str) -> Any:
    import numpy as np
    import pandas as pd

    arr = np.asarray(values)
    if dtype == "str":
        return pd.Series([None if v is None else str(v) for v in arr], dtype=object)
    return pd.Series(arr.astype(dtype))


def _to_series(pred: Any, nrows: int, dtype: str, is_array: bool) -> Any:
    import numpy as np
    import pandas as pd

    arr = as_array(pred, nrows)
    if is_array:
        rows = arr.reshape(nrows, -1) if arr.dtype != object else arr
        return pd.Series([np.asarray(r, dtype=dtype).reshape(-1) for r in rows], dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise BatchError(
            f"the model returns {arr.shape[1:]} values per row; use an array result type, "
            "e.g. result_type='array<double>'"
        )
    if dtype == "str":
        return pd.Series([None if v is None else str(v) for v in arr], dtype=object)
    return pd.Series(arr.astype(dtype))


@dataclass(frozen=True)
class _Config:
    """What each executor needs to score a batch (small; pickled with the UDF)."""

    name: str
    names: list[str] | None
    dtype: str
    is_array: bool
    allow_pickle: bool | None
    params: dict[str, Any] | None = None
    #: the struct result type, when the UDF returns one
    struct: Any = None


def _score_batch(config: _Config, columns: tuple[Any, ...]) -> Any:
    """Score one Arrow batch on an executor; runs in this module so the model cache is shared."""
    model = _load(config.name, config.allow_pickle)
    frame = _frame(columns, config.names)
    pred = score_frame(model, frame, config.params)
    if config.struct is not None:
        return _to_frame(pred, len(frame), config.struct)
    return _to_series(pred, len(frame), config.dtype, config.is_array)


def _make_udf_function(config: _Config) -> Any:
    # No type hints on purpose: PySpark reads the UDF kind from them, and without any it
    # makes the scalar pandas UDF wanted here (hints would have to name pandas at import).
    def modelpack_predict(*columns):  # type: ignore[no-untyped-def]
        return _score_batch(config, columns)

    return modelpack_predict


def spark_udf(
    spark: Any,
    model_uri: str | os.PathLike[str],
    *,
    result_type: Any = "double",
    allow_pickle: bool | None = None,
    predict_method: str | None = None,
) -> Any:
    """A pandas UDF that scores Spark DataFrame columns with a modelpack model.

    Parameters
    ----------
    spark
        The active ``SparkSession`` (classic Spark; the model is shipped with
        ``SparkContext.addFile``).
    model_uri
        Any model URI; resolved on the driver, so executors need no access to the store.
    result_type
        ``"double"`` (default), ``"float"``, ``"long"``, ``"integer"``, ``"boolean"``,
        ``"string"``, ``"array<TYPE>"`` of those, or the matching ``pyspark.sql.types``
        instance. Array types take every output of a multi-output model. A
        ``pyspark.sql.types.StructType`` returns one field per output column, matched by name
        (a class label of ``predict_proba``, a column of a DataFrame output), else by position.
    allow_pickle
        Passed to the loader on each executor (default: ``MODELPACK_ALLOW_PICKLE``).
    predict_method
        The model method to run: ``"predict_proba"``, ``"predict_log_proba"``,
        ``"decision_function"`` or ``"predict"``; default: the model's own. A method the model
        lacks fails on the executor with a SchemaError naming those it has.

    Returns
    -------
    UserDefinedFunction
        Call it with the model's input columns in signature order,
        ``udf("PU_DO", "trip_distance")`` or ``udf(*df.columns)``, or with one struct column
        whose fields carry the signature's names, ``udf(struct(*df.columns))``.
    """
    from modelpack._optional import require

    # pandas_udf hands columns over as pandas Series through Arrow: all three are needed.
    pandas_udf = require("pyspark.sql.functions", "spark", purpose="spark_udf").pandas_udf
    require("pandas", "spark", purpose="spark_udf")
    require("pyarrow", "spark", purpose="spark_udf")
    from modelpack._load import open_model
    from modelpack._signature import Signature

    spark_type, dtype, is_array = _result_type(result_type)
    model_dir, manifest = open_model(model_uri)
    name = _shipped_name(model_dir, manifest)
    _ship(spark.sparkContext, model_dir, name)
    inputs = Signature.from_dict(manifest.signature).inputs if manifest.signature else None
    names = inputs.names if inputs is not None and inputs.has_names else None
    params = None if predict_method is None else {PARAM: check_method(predict_method, METHODS)}
    struct = spark_type if dtype == "struct" else None
    config = _Config(name, names, dtype, is_array, allow_pickle, params, struct)
    return pandas_udf(_make_udf_function(config), returnType=spark_type)
