"""Batch scoring: stream CSV, Parquet or JSON Lines files through a model, or score Spark
DataFrames with a pandas UDF.

``modelpack.batch`` imports nothing heavy itself; pyarrow, pandas and PySpark are imported
when a function runs.
"""

from __future__ import annotations

from modelpack.batch._errors import BadRow, BadRowError, BatchError
from modelpack.batch._predict import PredictSummary, predict_file
from modelpack.batch._spark import spark_udf

__all__ = [
    "BadRow",
    "BadRowError",
    "BatchError",
    "PredictSummary",
    "predict_file",
    "spark_udf",
]
