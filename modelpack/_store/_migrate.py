"""``modelpack store migrate``: copy one store into another through the ``Store`` interface.

Experiments (matched by name), runs (params, every metric value with its step and timestamp,
tags, status, times, artifacts, logged models) and the registry (models, versions, tags,
descriptions, stages, aliases) are read from the source and written to the target with the
interface's own calls, so any two backends work: a laptop's SQLite store into a team server,
one server into another.

Resuming: each copied run carries the tag ``modelpack.migrated_from`` (the source run's id)
from the moment it is created, and ``modelpack.migrating`` until its copy is complete; each
copied version carries ``modelpack.migrated_from`` naming the source store and version. A
second run of the same migration finds those tags, skips what is complete, finishes what is
not (logging only the metric values and params still missing) and never creates a second
copy. A registered version keeps pointing at files in its run: its ``source`` becomes the
copied run's ``runs:/`` URI. A version registered from a path outside any run is copied into
a run of its own in the target's ``Default`` experiment.

What the target refuses to hold (MLflow's server: long keys, long experiment names, ``:`` in
model names, ...) or keeps in another form is left out, counted by kind and reported in one
line per kind (``_migrate_refusals``); the rest is copied. A 401 or 403 stops the migration
with a message saying so.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelpack._safe_copy import copy_model_tree
from modelpack._store._base import Store
from modelpack._store._context import TAG_PARENT
from modelpack._store._entities import (
    Experiment,
    LifecycleStage,
    LoggedModel,
    Metric,
    ModelVersion,
    NewRun,
    NewVersion,
    RegisteredModel,
    Run,
    ViewType,
    now_ms,
)
from modelpack._store._migrate_refusals import Refusals, count_changes, log_run_data
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError, warn

__all__ = ["MIGRATED_FROM", "MIGRATING", "MigrationSummary", "check_source", "copy_store"]

#: on a copied run: the source run's id; on a copied version: the source store and version
MIGRATED_FROM = "modelpack.migrated_from"
#: on a copied run until everything of it is copied
MIGRATING = "modelpack.migrating"
#: kept by stores that record logged models in a tag; the target rebuilds its own
_HISTORY_TAG = "mlflow.log-model.history"
_PAGE = 1000
#: records that ``n`` more items (runs or versions) are done
_Advance = Callable[[int], None]
_METRICS_PER_BATCH = 1000
_MODELS_REFUSED = "registered models (refused, with their versions)"
#: a server's refusals by error code, as the migration reports them
_REFUSED = {
    "UNAUTHENTICATED": "the server answered 401 UNAUTHENTICATED (no credentials it accepts)",
    "PERMISSION_DENIED": "the server answered 403 PERMISSION_DENIED (these credentials "
    "may read but not write)",
}


@dataclass
class MigrationSummary:
    """What a migration did: counts of copied items and of those found already copied."""

    experiments: int = 0
    runs_copied: int = 0
    runs_skipped: int = 0
    versions_copied: int = 0
    versions_skipped: int = 0
    #: one line per kind of item the target refused or kept in another form
    refused: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.experiments} experiments, {self.runs_copied} runs copied "
            f"({self.runs_skipped} already there), {self.versions_copied} model versions "
            f"copied ({self.versions_skipped} already there)"
        )


def copy_store(source: Store, target: Store, *, progress: bool = True) -> MigrationSummary:
    """Copy everything in the store ``source`` into the store ``target``.

    ``modelpack._store.migrate_store`` opens both by URI and calls this.

    Parameters
    ----------
    source, target : Store
        Opened stores of any backends.
    progress : bool
        Draw a progress line on standard error when it is a terminal, and end with a
        one-line summary there.

    Returns
    -------
    MigrationSummary
        How many runs and versions were copied, and how many were found already copied.
    """
    if _identity(source) == _identity(target):
        raise StoreError(f"cannot migrate {source.uri!r} into itself: give another target store")
    job = _Migration(source, target, _identity(source)[1])
    try:
        return job.run(progress=progress)
    except StoreError as e:
        refused = _REFUSED.get(str(e.error_code))
        if refused is None:
            raise
        # the HTTP layer's message names the call; say what it means for the migration
        raise StoreError(f"migration stopped: {refused}. {e}", error_code=e.error_code) from e


def check_source(backend: type[Store], uri: str) -> None:
    """Refuse a source store that is not there (opening it would make an empty one).

    ``backend`` is the class that opens ``uri``. Only stores on the local disk can be checked
    without opening them; a server or database that is missing fails when it is reached.
    """
    where = backend.identify(uri)
    if isinstance(where, Path) and not where.is_file():
        raise StoreError(
            f"the source store {uri} does not exist (no {where}): give the directory or "
            "sqlite:/// URI of an existing store as --from"
        )


def _identity(store: Store) -> tuple[str, str]:
    """Which store this is (equal for two URIs naming the same store)."""
    backend = type(store)
    return backend.__name__, str(backend.identify(store.uri))


class _Migration:
    def __init__(self, source: Store, target: Store, source_id: str) -> None:
        self.source, self.target, self.source_id = source, target, source_id
        self.summary = MigrationSummary()
        self.refusals = Refusals()
        #: source run id -> target run id
        self.runs: dict[str, str] = {}
        #: target child run id -> (the source's parent run id, the copy's parent tag now)
        self.parents: dict[str, tuple[str, str | None]] = {}

    def run(self, *, progress: bool) -> MigrationSummary:
        from modelpack._progress import Progress

        experiments = self.source.list_experiments()
        plan = [(exp, _all_runs(self.source, exp.experiment_id)) for exp in experiments]
        models = _all_registered_models(self.source)
        versions = {m.name: _all_versions(self.source, m.name) for m in models}
        total = sum(len(runs) for _, runs in plan) + sum(len(v) for v in versions.values())
        enabled = None if progress else False
        with Progress(total, "migrating", unit="items", enabled=enabled) as bar:
            for exp, runs in plan:
                self._experiment(exp, runs, bar.advance)
            self._fix_parents()
            for model in models:
                self._registered_model(model, versions[model.name], bar.advance)
            self.summary.refused = self.refusals.lines(self.target.uri)
            if progress:
                for line in self.summary.refused:
                    bar.message(line)
                bar.message(f"migrated {self.summary}")
        if not progress:
            for line in self.summary.refused:
                warn(line)
        return self.summary

    # ------------------------------------------------------------------ experiments
    def _experiment(self, exp: Experiment, runs: list[Run], advance: _Advance) -> None:
        target = self.target
        try:
            found = target.get_experiment_by_name(exp.name)
            exp_id = found.experiment_id
        except (ModelNotFoundError, ValueError):  # not there, or a name the target refuses
            found = None
            created = self._create_experiment(exp)
            if created is None:
                if runs:
                    where = f"in the experiment {exp.name[:60]!r}"
                    self.refusals.add("runs (in a refused experiment)", where, len(runs))
                advance(len(runs))
                return
            exp_id = created
        self.summary.experiments += 1
        if found is not None:
            for key, value in exp.tags.items():
                if found.tags.get(key) != value:
                    self.refusals.attempt(
                        "experiment tags (refused)",
                        target.set_experiment_tag,
                        exp_id,
                        key,
                        value,
                    )
            if found.lifecycle_stage == LifecycleStage.DELETED and runs:
                target.restore_experiment(exp_id)  # to write its runs; deleted again below
        copied = _copies(target, exp_id)
        for run in sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id)):
            self._run(run, exp_id, copied.get(run.info.run_id))
            advance(1)
        src_deleted = exp.lifecycle_stage == LifecycleStage.DELETED
        if src_deleted and target.get_experiment(exp_id).lifecycle_stage != LifecycleStage.DELETED:
            target.delete_experiment(exp_id)

    def _create_experiment(self, exp: Experiment) -> str | None:
        """The new experiment's id; its tags one by one if the target refuses one of them."""
        try:
            return self.target.create_experiment(exp.name, tags=exp.tags)
        except ValueError:
            pass
        exp_id = self.refusals.attempt(
            "experiments (refused)",
            self.target.create_experiment,
            exp.name,
            tags={},
        )
        if exp_id is not None:
            for key, value in exp.tags.items():
                self.refusals.attempt(
                    "experiment tags (refused)",
                    self.target.set_experiment_tag,
                    exp_id,
                    key,
                    value,
                )
        return exp_id

    # ------------------------------------------------------------------ runs
    def _run(self, run: Run, exp_id: str, copy: Run | None) -> None:
        src_id = run.info.run_id
        parent = run.data.tags.get(TAG_PARENT)
        if copy is not None and MIGRATING not in copy.data.tags:
            if parent:
                self.parents[copy.info.run_id] = (parent, copy.data.tags.get(TAG_PARENT))
            self.runs[src_id] = copy.info.run_id
            self.summary.runs_skipped += 1
            deleted = run.info.lifecycle_stage == LifecycleStage.DELETED
            if deleted and copy.info.lifecycle_stage != LifecycleStage.DELETED:
                self.target.delete_run(copy.info.run_id)  # interrupted just before it
            return
        if copy is None:
            copy = self._create_run(run, exp_id)
            if copy is None:
                return
        dst_id = copy.info.run_id
        self.runs[src_id] = dst_id
        if parent:
            self.parents[dst_id] = (parent, copy.data.tags.get(TAG_PARENT))
        self._run_data(run, copy)
        count_changes(
            self.refusals,
            run.data,
            self.target.get_run(dst_id).data,
            skip_tags=frozenset({_HISTORY_TAG, MIGRATED_FROM, MIGRATING, TAG_PARENT}),
        )
        self._run_files(src_id, dst_id)
        self.target.update_run_info(
            dst_id, status=run.info.status, end_time=run.info.end_time, run_name=run.info.run_name
        )
        self.target.delete_tag(dst_id, MIGRATING)
        if run.info.lifecycle_stage == LifecycleStage.DELETED:
            self.target.delete_run(dst_id)
        self.summary.runs_copied += 1

    def _create_run(self, run: Run, exp_id: str) -> Run | None:
        """The new copy of ``run``, marked as being copied (None if the target refuses it).

        Its tags go with it; if the target refuses one, they are logged one by one later.
        """
        marks = {MIGRATED_FROM: run.info.run_id, MIGRATING: "true"}
        tags = {k: v for k, v in run.data.tags.items() if k != _HISTORY_TAG}
        info = run.info
        try:
            new = NewRun(exp_id, info.run_name, info.user_id, info.start_time, {**tags, **marks})
            return self.target.create_run(new)
        except ValueError:
            pass
        new = NewRun(exp_id, info.run_name, info.user_id, info.start_time, marks)
        return self.refusals.attempt("runs (refused)", self.target.create_run, new)

    def _run_data(self, run: Run, copy: Run) -> None:
        """Params, tags and the metric values the copy lacks (all of them for a new copy)."""
        src_id, dst_id = run.info.run_id, copy.info.run_id
        params = {k: v for k, v in run.data.params.items() if k not in copy.data.params}
        tags = {
            k: v
            for k, v in run.data.tags.items()
            if k not in (_HISTORY_TAG, MIGRATED_FROM, MIGRATING)
            and copy.data.tags.get(k) != v
            and not (k == TAG_PARENT and k in copy.data.tags)  # already pointed at the copy
        }
        metrics: list[Metric] = []
        repeated: dict[str, int] = {}
        for key in run.data.metrics:
            have = Counter(
                _metric_key(m)
                for m in (
                    self.target.get_metric_history(dst_id, key) if key in copy.data.metrics else []
                )
            )
            history = self.source.get_metric_history(src_id, key)
            if len({_metric_key(m) for m in history}) < len(history):
                repeated[key] = len(history)
            for metric in history:
                if have[_metric_key(metric)] > 0:
                    have[_metric_key(metric)] -= 1
                else:
                    metrics.append(metric)
        log_run_data(
            self.target,
            dst_id,
            self.refusals,
            params=params,
            tags=tags,
            metrics=metrics,
            batch=_METRICS_PER_BATCH,
        )
        self._check_repeats(dst_id, repeated)

    def _check_repeats(self, dst_id: str, repeated: dict[str, int]) -> None:
        """Count the repeated metric values (same step, time and value) the target kept once."""
        for key, count in repeated.items():
            kept = len(self.target.get_metric_history(dst_id, key))
            if kept < count:
                self.refusals.add(
                    "repeated metric values (kept once)",
                    "it keeps one copy of a value logged more than once with the same step "
                    "and timestamp",
                    count - kept,
                )

    def _run_files(self, src_id: str, dst_id: str) -> None:
        """Artifacts, then each logged model (its files staged where the target wants them)."""
        models = self.source.list_logged_models(src_id)
        done = {m.artifact_path for m in self.target.list_logged_models(dst_id)}
        with tempfile.TemporaryDirectory(prefix="modelpack-migrate-") as tmp:
            local = Path(tmp) / "run"
            local.mkdir()
            try:
                self.source.download_artifacts(src_id, "", local)
            except ModelNotFoundError:
                pass  # a run without artifacts
            for model in models:
                folder = local.joinpath(*model.artifact_path.split("/"))
                if model.artifact_path not in done and (folder / "MLmodel").is_file():
                    staged = self.target.run_artifact_dir(dst_id).joinpath(
                        *model.artifact_path.split("/")
                    )
                    copy_model_tree(folder, staged, action="migrate", merge=True)
                    self._record(dataclasses.replace(model, run_id=dst_id))
                shutil.rmtree(folder, ignore_errors=True)
            if any(p.is_file() for p in local.rglob("*")):
                self.target.log_artifacts(dst_id, local, None)

    def _record(self, model: LoggedModel) -> None:
        try:
            self.target.record_logged_model(model)
        except ModelExistsError:
            pass  # recorded by the interrupted attempt

    def _fix_parents(self) -> None:
        """Point copied child runs at their copied parents."""
        for dst_id, (src_parent, current) in self.parents.items():
            wanted = self.runs.get(src_parent)
            if wanted is not None and current != wanted:
                self._set_run_tag(dst_id, TAG_PARENT, wanted)

    def _set_run_tag(self, run_id: str, key: str, value: str) -> None:
        run = self.target.get_run(run_id)
        deleted = run.info.lifecycle_stage == LifecycleStage.DELETED
        if deleted:
            self.target.restore_run(run_id)
        self.target.log_batch(run_id, tags={key: value})
        if deleted:
            self.target.delete_run(run_id)

    # ------------------------------------------------------------------ registry
    def _registered_model(
        self, model: RegisteredModel, versions: list[ModelVersion], advance: _Advance
    ) -> None:
        found = self._model_record(model)
        if found is None:
            advance(len(versions))
            return
        copied = {
            v.tags[MIGRATED_FROM]: v
            for v in _all_versions(self.target, model.name)
            if MIGRATED_FROM in v.tags
        }
        numbers: dict[int, int] = {}
        for version in versions:
            mark = f"{self.source_id}::models:/{version.name}/{version.version}"
            copy = copied.get(mark)
            if copy is None:
                copy = self._create_version(version, mark)
            else:
                self.summary.versions_skipped += 1
            if copy is not None:
                numbers[version.version] = copy.version
                self._version_state(version, copy)
            advance(1)
        for alias, number in model.aliases.items():
            if number in numbers and found.aliases.get(alias) != numbers[number]:
                self.refusals.attempt(
                    "aliases (refused)", self.target.set_alias, model.name, alias, numbers[number]
                )

    def _model_record(self, model: RegisteredModel) -> RegisteredModel | None:
        """The target's registered model, made or brought up to date (None if refused)."""
        target, attempt = self.target, self.refusals.attempt
        try:
            found = target.get_registered_model(model.name)
        except ValueError as e:  # a name the target does not allow (MLflow: no ':')
            self.refusals.add(_MODELS_REFUSED, e)
            return None
        except ModelNotFoundError:
            try:
                return target.create_registered_model(
                    model.name, description=model.description, tags=model.tags
                )
            except ValueError:
                pass  # the name, the description or a tag: made bare, the rest one by one
            bare = attempt(
                _MODELS_REFUSED,
                target.create_registered_model,
                model.name,
                description=None,
                tags={},
            )
            if bare is None:
                return None
            found = bare
        if (found.description or None) != (model.description or None):
            attempt(
                "registered model descriptions (refused)",
                target.update_registered_model,
                model.name,
                description=model.description,
            )
        for key, value in model.tags.items():
            if found.tags.get(key) != value:
                attempt(
                    "registered model tags (refused)",
                    target.set_registered_model_tag,
                    model.name,
                    key,
                    value,
                )
        return found

    def _create_version(self, version: ModelVersion, mark: str) -> ModelVersion | None:
        """The new copy of ``version`` (None if the target refuses it).

        If the target refuses its description or a tag, it is made with neither, and
        :meth:`_version_state` sets them one by one.
        """
        new = self._new_version(version, mark)
        try:
            copy: ModelVersion | None = self.target.create_model_version(new)
        except ValueError:
            bare = dataclasses.replace(new, tags={MIGRATED_FROM: mark}, description=None)
            copy = self.refusals.attempt(
                "model versions (refused)", self.target.create_model_version, bare
            )
        if copy is not None:
            self.summary.versions_copied += 1
        return copy

    def _version_state(self, version: ModelVersion, copy: ModelVersion) -> None:
        """Stage, description and tags: set again on a resumed copy, each only if different."""
        name, number, target, attempt = copy.name, copy.version, self.target, self.refusals.attempt
        if copy.current_stage != version.current_stage:
            stage = version.current_stage
            attempt(
                "stages (refused)",
                target.transition_stage,
                name,
                number,
                stage,
                archive_existing=False,
            )
        if (copy.description or None) != (version.description or None):
            attempt(
                "model version descriptions (refused)",
                target.update_model_version,
                name,
                number,
                description=version.description,
            )
        for key, value in version.tags.items():
            if key != MIGRATED_FROM and copy.tags.get(key) != value:
                attempt(
                    "model version tags (refused)",
                    target.set_model_version_tag,
                    name,
                    number,
                    key,
                    value,
                )

    def _new_version(self, version: ModelVersion, mark: str) -> NewVersion:
        run_id, path = self._model_in_run(version)
        if run_id is None:
            run_id, path = self._holder_run(version, mark), "model"
        staged = self.target.run_artifact_dir(run_id).joinpath(*path.split("/"))
        tags = {**version.tags, MIGRATED_FROM: mark}
        return NewVersion(
            name=version.name,
            source=f"runs:/{run_id}/{path}",
            storage_location=self.target.storage_location(staged),
            run_id=run_id,
            description=version.description,
            tags=tags,
            run_link=None,
            create_model=False,
            manifest_digest=self.source.get_manifest_digest(version.name, version.version),
        )

    def _model_in_run(self, version: ModelVersion) -> tuple[str | None, str]:
        """The copied run holding the version's files, and their path in it."""
        src_run = version.run_id
        if not src_run or src_run not in self.runs:
            return None, ""
        path = _path_in_run(self.source, version, src_run)
        if path is None:
            return None, ""
        return self.runs[src_run], path

    def _holder_run(self, version: ModelVersion, mark: str) -> str:
        """A run in the target's Default experiment holding a version registered from a path."""
        exp_id = self.target.get_or_create_experiment("Default").experiment_id
        copy = _copies(self.target, exp_id).get(mark)
        if copy is not None:
            return copy.info.run_id
        tags = {MIGRATED_FROM: mark}
        run_name = f"{version.name} v{version.version} (migrated)"
        run = self.target.create_run(NewRun(exp_id, run_name, version.user_id, now_ms(), tags))
        with tempfile.TemporaryDirectory(prefix="modelpack-migrate-") as tmp:
            local = _version_files(self.source, version, Path(tmp))
            staged = self.target.run_artifact_dir(run.info.run_id) / "model"
            copy_model_tree(local, staged, action="migrate", merge=True)
        self._record(_logged_model(run.info.run_id, staged))
        self.target.update_run_info(run.info.run_id, status="FINISHED", end_time=now_ms())
        return run.info.run_id


# ---------------------------------------------------------------------- helpers
def _metric_key(metric: Metric) -> tuple[int, int, str]:
    return (metric.step, metric.timestamp, repr(float(metric.value)))


def _all_runs(store: Store, experiment_id: str) -> list[Run]:
    found: list[Run] = []
    token: str | None = None
    while True:
        page = store.search_runs(
            [experiment_id], run_view_type=ViewType.ALL, max_results=_PAGE, page_token=token
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def _copies(store: Store, experiment_id: str) -> dict[str, Run]:
    """The experiment's runs made by a migration, by what they were copied from."""
    return {
        run.data.tags[MIGRATED_FROM]: run
        for run in _all_runs(store, experiment_id)
        if MIGRATED_FROM in run.data.tags
    }


def _all_registered_models(store: Store) -> list[RegisteredModel]:
    found: list[RegisteredModel] = []
    token: str | None = None
    while True:
        page = store.search_registered_models(max_results=100, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _all_versions(store: Store, name: str) -> list[ModelVersion]:
    found: list[ModelVersion] = []
    token: str | None = None
    quoted = name.replace("'", "''")
    while True:
        page = store.search_model_versions(
            f"name = '{quoted}'", max_results=_PAGE, page_token=token
        )
        found.extend(v for v in page if v.name == name)
        token = page.token
        if not token:
            return sorted(found, key=lambda v: v.version)


def _path_in_run(store: Store, version: ModelVersion, run_id: str) -> str | None:
    """Where the version's model sits among the run's artifacts, if it is in the run."""
    from modelpack._storage import scheme_of

    source = version.source
    if source.startswith("runs:/"):
        head, _, rest = source[len("runs:/") :].partition("/")
        if head == run_id and rest.strip("/"):
            return rest.strip("/")
    location = version.storage_location.rstrip("/")
    roots = [store.get_run(run_id).info.artifact_uri.rstrip("/")]
    try:
        roots.append(str(store.run_artifact_dir(run_id).resolve()))
        if not scheme_of(location):  # a local path: compare resolved forms
            location = str(Path(location).resolve())
    except (OSError, StoreError):
        pass
    for root in roots:
        if location.startswith(root + "/"):
            return location[len(root) + 1 :]
    return None


def _version_files(store: Store, version: ModelVersion, tmp: Path) -> Path:
    """A local copy (or the local directory) of a version's model files."""
    location = version.storage_location
    if ":/" in location and not Path(location).exists():
        from modelpack._storage import fetch_model

        return fetch_model(location)
    path = Path(location)
    if not path.is_absolute():
        path = store.artifact_root / path
    if not (path / "MLmodel").is_file():
        raise StoreError(
            f"cannot copy {version.name} version {version.version}: its files at {path} are "
            "missing; delete that version from the source store, or restore its files"
        )
    return path


def _logged_model(run_id: str, folder: Path) -> LoggedModel:
    from modelpack._manifest import read_manifest

    manifest = read_manifest(folder)
    return LoggedModel(run_id, "model", manifest.model_uuid, tuple(manifest.flavors), now_ms())
