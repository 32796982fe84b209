"""The store's database schema, as numbered migrations.

Changing the schema
-------------------
Never edit a released migration. Append ``MIGRATIONS[n + 1]`` with the statements that take a
version-``n`` database to ``n + 1`` and bump ``LATEST_VERSION``; opening an older store applies
the missing steps in one transaction. Add a test that opens a store written at version ``n``.

The tables use only portable SQL types and explicit keys, so a server database (PostgreSQL,
MySQL) can implement the same ``Store`` interface with the same layout. Times are
milliseconds since the epoch; artifact locations are relative to the store's artifact root,
so a store folder can be moved or copied whole.
"""

from __future__ import annotations

__all__ = ["LATEST_VERSION", "MIGRATIONS"]

_V1 = (
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        applied_time INTEGER NOT NULL)""",
    """CREATE TABLE store_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE experiments (
        experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        artifact_location TEXT NOT NULL,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        creation_time INTEGER NOT NULL)""",
    # the Default experiment has id 0, as in MLflow
    """INSERT INTO experiments (experiment_id, name, artifact_location, creation_time)
        VALUES (0, 'Default', '0', CAST(strftime('%s', 'now') AS INTEGER) * 1000)""",
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
        run_name TEXT,
        status TEXT NOT NULL
            CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
        start_time INTEGER NOT NULL,
        end_time INTEGER,
        user_id TEXT,
        artifact_location TEXT NOT NULL,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active')""",
    "CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time)",
    """CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key))""",
    """CREATE TABLE run_tags (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key))""",
    # the full history; seq keeps the logging order
    """CREATE TABLE metrics (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL,
        timestamp INTEGER NOT NULL,
        step INTEGER NOT NULL)""",
    "CREATE INDEX metrics_by_run_key ON metrics (run_id, key, step)",
    # one row per run and key: the value searches and ordering use
    """CREATE TABLE latest_metrics (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL,
        timestamp INTEGER NOT NULL,
        step INTEGER NOT NULL,
        PRIMARY KEY (run_id, key))""",
    "CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value)",
    """CREATE TABLE logged_models (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        artifact_path TEXT NOT NULL,
        model_uuid TEXT NOT NULL,
        flavors TEXT NOT NULL,
        creation_time INTEGER NOT NULL,
        PRIMARY KEY (run_id, artifact_path))""",
    # last_version only grows: a deleted version's number is never handed out again
    """CREATE TABLE registered_models (
        name TEXT PRIMARY KEY,
        creation_time INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        description TEXT,
        last_version INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE registered_model_tags (
        name TEXT NOT NULL REFERENCES registered_models (name)
            ON DELETE CASCADE ON UPDATE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, key))""",
    """CREATE TABLE model_versions (
        name TEXT NOT NULL REFERENCES registered_models (name)
            ON DELETE CASCADE ON UPDATE CASCADE,
        version INTEGER NOT NULL,
        creation_time INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        description TEXT,
        current_stage TEXT NOT NULL DEFAULT 'None'
            CHECK (current_stage IN ('None', 'Staging', 'Production', 'Archived')),
        source TEXT NOT NULL,
        run_id TEXT,
        storage_location TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'READY',
        PRIMARY KEY (name, version))""",
    """CREATE TABLE model_version_tags (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, version, key),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
            ON DELETE CASCADE ON UPDATE CASCADE)""",
    """CREATE TABLE model_aliases (
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
            ON DELETE CASCADE ON UPDATE CASCADE)""",
)

# Version 2: experiment tags and update times, deleted-run times, MLflow's run tag names.
_V2 = (
    "ALTER TABLE experiments ADD COLUMN last_update_time INTEGER",
    "UPDATE experiments SET last_update_time = creation_time",
    """CREATE TABLE experiment_tags (
        experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key))""",
    "ALTER TABLE runs ADD COLUMN deleted_time INTEGER",
    # run searches filter on the lifecycle stage within an experiment, newest first
    "CREATE INDEX runs_by_experiment_stage ON runs (experiment_id, lifecycle_stage, start_time)",
    # runs record where they ran under MLflow's tag names (version 1 used modelpack.*)
    *(
        statement
        for old, new in (
            ("modelpack.source.name", "mlflow.source.name"),
            ("modelpack.source.git.commit", "mlflow.source.git.commit"),
            ("modelpack.user", "mlflow.user"),
            ("modelpack.parentRunId", "mlflow.parentRunId"),
        )
        for statement in (
            f"UPDATE OR IGNORE run_tags SET key = '{new}' WHERE key = '{old}'",
            f"DELETE FROM run_tags WHERE key = '{old}'",
        )
    ),
    """INSERT OR IGNORE INTO run_tags (run_id, key, value)
        SELECT run_id, 'mlflow.source.type', 'LOCAL' FROM runs
        WHERE run_id IN (SELECT run_id FROM run_tags WHERE key = 'mlflow.source.name')""",
    """INSERT OR IGNORE INTO run_tags (run_id, key, value)
        SELECT run_id, 'mlflow.runName', run_name FROM runs WHERE run_name IS NOT NULL""",
)

# Version 3: a model version's run_link (MLflow's; a URL of the run, kept as given).
_V3 = ("ALTER TABLE model_versions ADD COLUMN run_link TEXT",)

# Version 4: the SHA-256 of each version's MLmodel when it was registered (the trust anchor
# load_model checks models:/ directories against); versions registered before have none.
_V4 = (
    """CREATE TABLE model_version_digests (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        manifest_digest TEXT NOT NULL,
        PRIMARY KEY (name, version),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
            ON DELETE CASCADE ON UPDATE CASCADE)""",
)

# Version 5: params and run tags by key (the keys of an experiment's runs, for the UI's
# column chooser, without reading every row).
_V5 = (
    "CREATE INDEX params_by_key ON params (key, run_id)",
    "CREATE INDEX run_tags_by_key ON run_tags (key, run_id)",
)

#: version -> the statements that create it from the previous version
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5}
LATEST_VERSION = max(MIGRATIONS)
