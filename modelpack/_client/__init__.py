"""The object-style client (MLflow's ``MlflowClient``): tracking and registry halves in one class."""

from __future__ import annotations

__all__: list[str] = []
