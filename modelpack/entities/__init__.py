"""MLflow's ``mlflow.entities``: what the store hands back and ``log_batch`` takes.

``from modelpack.entities import ViewType, Metric, Param, RunTag`` replaces the same import
from ``mlflow.entities``. The classes are modelpack's own store entities (frozen dataclasses,
snapshots of the store), with MLflow's attribute names: ``run.info.run_id``,
``run.data.metrics``, ``experiment.experiment_id``, ``ViewType.ALL``, ... Registry entities
are also under ``modelpack.entities.model_registry``, as in MLflow.

An MLflow entity that modelpack does not have (tracing spans, datasets, webhooks, ...) raises
:class:`~modelpack.exceptions.NotSupportedError` naming the modelpack way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelpack._store import (
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)

__all__ = [
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "ModelVersion",
    "Param",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
]

if not TYPE_CHECKING:  # type checkers keep reporting misspelt names
    from modelpack._mlflow_names import missing_attribute

    __getattr__ = missing_attribute(__name__)
