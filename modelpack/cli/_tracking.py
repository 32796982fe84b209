"""``modelpack runs ...`` and ``modelpack models ...``: runs and the model registry."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from typing import TYPE_CHECKING, Any

from modelpack.cli._output import print_json, print_table

if TYPE_CHECKING:
    from modelpack._store import ModelVersion, Run

__all__ = ["register"]


def _store_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="URI",
        help="store to use (default: MODELPACK_STORE_URI, else ./modelpack-store)",
    )
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return common


def register(subparsers: Any) -> None:
    common = _store_option()
    _register_runs(subparsers, common)
    _register_models(subparsers, common)


def _register_runs(subparsers: Any, common: argparse.ArgumentParser) -> None:
    runs = subparsers.add_parser("runs", help="list and inspect runs")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    lst = runs_sub.add_parser(
        "list", parents=[common], help="list runs, best first with --order-by"
    )
    lst.add_argument(
        "--experiment",
        action="append",
        metavar="NAME",
        help="only this experiment (repeatable; default: all)",
    )
    lst.add_argument(
        "--filter", metavar="EXPR", help="e.g. \"metrics.rmse < 7 and params.alpha = '0.1'\""
    )
    lst.add_argument(
        "--order-by",
        action="append",
        metavar="KEY",
        help="e.g. metrics.rmse or 'metrics.rmse DESC' (repeatable)",
    )
    lst.add_argument("--max-results", type=int, default=100, metavar="N")
    lst.set_defaults(func=_runs_list)
    show = runs_sub.add_parser(
        "show", parents=[common], help="a run's params, metrics, tags, models"
    )
    show.add_argument("run_id", metavar="RUN_ID")
    show.set_defaults(func=_runs_show)


def _register_models(subparsers: Any, common: argparse.ArgumentParser) -> None:
    models = subparsers.add_parser("models", help="the model registry: versions, aliases, stages")
    sub = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    sub.add_parser("list", parents=[common], help="registered models").set_defaults(
        func=_models_list
    )
    versions = sub.add_parser("versions", parents=[common], help="the versions of one model")
    versions.add_argument("name", metavar="NAME")
    versions.set_defaults(func=_models_versions)
    alias = sub.add_parser("alias", parents=[common], help="point an alias at a version")
    alias.add_argument("name", metavar="NAME")
    alias.add_argument("alias", metavar="ALIAS")
    alias.add_argument("version", metavar="VERSION", nargs="?")
    alias.add_argument("--delete", action="store_true", help="remove the alias instead")
    alias.set_defaults(func=_models_alias)
    stage = sub.add_parser("stage", parents=[common], help="move a version to a stage")
    stage.add_argument("name", metavar="NAME")
    stage.add_argument("version", metavar="VERSION")
    stage.add_argument("stage", metavar="STAGE", help="None, Staging, Production or Archived")
    stage.add_argument(
        "--archive-existing", action="store_true", help="archive the versions already in that stage"
    )
    stage.set_defaults(func=_models_stage)
    reg = sub.add_parser("register", parents=[common], help="register a model as a new version")
    reg.add_argument("model_uri", metavar="MODEL_URI")
    reg.add_argument("name", metavar="NAME")
    reg.set_defaults(func=_models_register)


def _use_store(args: argparse.Namespace) -> None:
    if args.store:
        from modelpack._store import set_store_uri

        set_store_uri(args.store)


def _time(ms: int | None) -> str | None:
    if ms is None:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------- runs
def _runs_list(args: argparse.Namespace) -> int:
    from modelpack._store import get_store
    from modelpack._tracking import search_runs

    _use_store(args)
    runs = search_runs(
        experiment_names=args.experiment,
        filter_string=args.filter or "",
        order_by=args.order_by,
        max_results=args.max_results,
        search_all_experiments=not args.experiment,
        output_format="list",
    )
    names = {e.experiment_id: e.name for e in get_store().list_experiments()}
    rows = []
    for run in runs:
        row = run.to_row()
        row["experiment"] = names.get(run.info.experiment_id)
        rows.append(row)
    if args.json:
        print_json(rows)
        return 0
    metric_cols = sorted({k for r in rows for k in r if k.startswith("metrics.")})
    param_cols = sorted({k for r in rows for k in r if k.startswith("params.")})
    for row in rows:
        row["start_time"] = _time(row["start_time"])
        row["models"] = ", ".join(row["models"])
        for col in metric_cols:
            if isinstance(row.get(col), float):
                row[col] = f"{row[col]:.6g}"
    columns = ["run_id", "run_name", "experiment", "status", "start_time",
               *metric_cols, *param_cols, "models"]  # fmt: skip
    print_table(rows, columns)
    return 0


def _runs_show(args: argparse.Namespace) -> int:
    from modelpack._tracking import get_run

    _use_store(args)
    run = get_run(args.run_id)
    if args.json:
        print_json(_run_json(run))
        return 0
    info = run.info
    for key, value in (
        ("run_id", info.run_id), ("run_name", info.run_name), ("experiment_id", info.experiment_id),
        ("status", info.status), ("start_time", _time(info.start_time)),
        ("end_time", _time(info.end_time)), ("user", info.user_id),
        ("artifacts", info.artifact_uri),
    ):  # fmt: skip
        if value is not None:
            print(f"{key + ':':15}{value}")
    for title, values in (("params", run.data.params), ("metrics", run.data.metrics),
                          ("tags", run.data.tags)):  # fmt: skip
        print(f"{title}:")
        for key in sorted(values):
            print(f"  {key}: {values[key]}")
    print("models:")
    for path in run.logged_models:
        print(f"  runs:/{info.run_id}/{path}")
    return 0


def _run_json(run: Run) -> dict[str, Any]:
    from dataclasses import asdict

    data: dict[str, Any] = {"info": asdict(run.info), "data": asdict(run.data)}
    data["models"] = [f"runs:/{run.run_id}/{p}" for p in run.logged_models]
    return data


# ---------------------------------------------------------------------- models
def _models_list(args: argparse.Namespace) -> int:
    from modelpack._registry import search_registered_models

    _use_store(args)
    rows = [m.to_row() for m in search_registered_models()]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        row["aliases"] = ", ".join(f"{a}={v}" for a, v in row["aliases"].items())
        row["stages"] = ", ".join(f"{s}={v}" for s, v in row["stages"].items() if s != "None")
        row["updated"] = _time(row["updated"])
    print_table(rows, ["name", "latest_version", "aliases", "stages", "updated", "description"])
    return 0


def _version_rows(versions: list[ModelVersion], as_json: bool) -> None:
    rows = [v.to_row() for v in versions]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["aliases"] = ", ".join(row["aliases"])
        row["created"] = _time(row["created"])
        row["tags"] = ", ".join(f"{k}={v}" for k, v in row["tags"].items())
    print_table(rows, ["version", "stage", "aliases", "created", "run_id", "description", "tags"])


def _versions_of(name: str) -> list[ModelVersion]:
    """Every version of ``name``, oldest first; an unknown name lists the registered ones."""
    from modelpack._registry import get_registered_model, search_model_versions

    get_registered_model(name)
    quoted = name.replace("'", "''")
    return search_model_versions(
        filter_string=f"name = '{quoted}'", order_by=["version_number ASC"]
    )


def _models_versions(args: argparse.Namespace) -> int:
    _use_store(args)
    _version_rows(_versions_of(args.name), args.json)
    return 0


def _models_alias(args: argparse.Namespace) -> int:
    from modelpack._registry import delete_alias, get_model_version_by_alias, set_alias

    _use_store(args)
    if args.delete:
        delete_alias(args.name, args.alias)
        print(f"removed alias {args.alias!r} of {args.name!r}")
        return 0
    if args.version is None:
        print(
            "modelpack: error: give the VERSION the alias points at, or --delete", file=sys.stderr
        )
        return 2
    set_alias(args.name, args.alias, args.version)
    _version_rows([get_model_version_by_alias(args.name, args.alias)], args.json)
    return 0


def _models_stage(args: argparse.Namespace) -> int:
    from modelpack._registry import transition_model_version_stage

    _use_store(args)
    transition_model_version_stage(
        args.name, args.version, args.stage, archive_existing_versions=args.archive_existing
    )
    _version_rows(_versions_of(args.name), args.json)
    return 0


def _models_register(args: argparse.Namespace) -> int:
    from modelpack._registry import register_model

    _use_store(args)
    version = register_model(args.model_uri, args.name)
    _version_rows([version], args.json)
    return 0
