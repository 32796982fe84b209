"""JSON for the registry pages, and the registry's write actions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelpack._store import STAGES, Store, canonical_stage
from modelpack.ui._card import model_card

__all__ = ["ACTIONS", "model_detail", "models_page", "version_card", "version_diff"]


def _name(query: Mapping[str, Any]) -> str:
    name = query.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("give the registered model's name")
    return name


def _version(query: Mapping[str, Any], key: str = "version") -> int:
    value = query.get(key)
    try:
        number = int(str(value))
    except ValueError:
        raise ValueError(f"{key} must be a version number, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{key} must be 1 or more, got {number}")
    return number


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def models_page(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    page = store.search_registered_models(
        filter_string=query.get("filter") or None,
        max_results=100,
        order_by=["name ASC"],
        page_token=query.get("page_token") or None,
    )
    return {"models": [m.to_row() for m in page], "next_page_token": page.token}


def model_detail(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    name = _name(query)
    model = store.get_registered_model(name)
    versions = store.search_model_versions(
        f"name = {_quoted(name)}", order_by=["version_number DESC"]
    )
    return {
        "model": model.to_row(),
        "versions": [v.to_row() for v in versions],
        "stages": list(STAGES),
    }


def version_card(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    return model_card(store, _name(query), _version(query))


def _flat(prefix: str, values: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (values or {}).items():
        out[f"{prefix}{key}"] = (
            value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        )
    return out


def _facts(card: dict[str, Any]) -> dict[str, str]:
    """One flat ``{what: value}`` view of a card, so two versions compare key by key."""
    facts: dict[str, str] = {}
    row = card["version"]
    facts["stage"] = row["stage"]
    facts["aliases"] = ", ".join(sorted(row["aliases"]))
    facts["description"] = row["description"] or ""
    facts["run"] = row["run_id"] or ""
    facts.update(_flat("tag: ", row["tags"]))
    run = card.get("run") or {}
    facts.update(_flat("param: ", run.get("params")))
    facts.update(_flat("metric: ", run.get("metrics")))
    model = card.get("model") or {}
    if model:
        facts["flavors"] = ", ".join(sorted(model["flavors"]))
        facts["signature"] = json.dumps(model["signature"], sort_keys=True)
        facts["preprocessor"] = json.dumps(model["preprocessor"], sort_keys=True)
        facts["size (bytes)"] = str(model["total_size"])
        for line in (model["requirements"] or "").splitlines():
            pkg = line.split("==")[0].split(">=")[0].strip()
            if pkg and not pkg.startswith("#"):
                facts[f"requirement: {pkg}"] = line.strip()
        for f in model["files"]:
            facts[f"file: {f['path']}"] = f"{f['size']} bytes {f['digest'] or ''}".strip()
    return facts


def version_diff(store: Store, query: Mapping[str, str]) -> dict[str, Any]:
    name = _name(query)
    a, b = _version(query, "a"), _version(query, "b")
    left, right = _facts(model_card(store, name, a)), _facts(model_card(store, name, b))
    rows = []
    for key in sorted(set(left) | set(right)):
        va, vb = left.get(key), right.get(key)
        rows.append({"key": key, "a": va, "b": vb, "changed": va != vb})
    return {"name": name, "a": a, "b": b, "rows": rows}


# ------------------------------------------------------------------------------ actions
def _set_alias(store: Store, body: Mapping[str, Any]) -> dict[str, Any]:
    name, alias = _name(body), str(body.get("alias") or "").strip()
    if not alias:
        raise ValueError("give the alias to set")
    store.set_alias(name, alias, _version(body))
    return {"ok": True}


def _delete_alias(store: Store, body: Mapping[str, Any]) -> dict[str, Any]:
    alias = str(body.get("alias") or "").strip()
    if not alias:
        raise ValueError("give the alias to remove")
    store.delete_alias(_name(body), alias)
    return {"ok": True}


def _transition(store: Store, body: Mapping[str, Any]) -> dict[str, Any]:
    stage = canonical_stage(str(body.get("stage")))
    archive = bool(body.get("archive_existing", False))
    version = store.transition_stage(_name(body), _version(body), stage, archive_existing=archive)
    return {"ok": True, "version": version.to_row()}


def _describe(store: Store, body: Mapping[str, Any]) -> dict[str, Any]:
    name = _name(body)
    text = body.get("description")
    if text is not None and not isinstance(text, str):
        raise ValueError("description must be text")
    if body.get("version") in (None, ""):
        store.update_registered_model(name, description=text)
    else:
        store.update_model_version(name, _version(body), description=text)
    return {"ok": True}


ACTIONS = {
    "set-alias": _set_alias,
    "delete-alias": _delete_alias,
    "transition-stage": _transition,
    "set-description": _describe,
}
