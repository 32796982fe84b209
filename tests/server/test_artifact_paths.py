"""The team server's artifact routes follow the one path rule (issue 13): every hostile path of
tests/security/test_trust_paths.py is a 400 INVALID_PARAMETER_VALUE naming the same reason,
over real HTTP, whether it comes in the URL's path or in a ``path`` query parameter, and
nothing is written outside the artifacts destination."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from tests.security.test_trust_paths import HARMLESS, HOSTILE
from tests.server.conftest import Running, call

_ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
_LIST = "/api/2.0/mlflow/artifacts/list"


def _refused(
    answer: tuple[int, dict[str, object]], reason: str, where: str, *, in_url: bool = False
) -> str | None:
    status, body = answer
    code = (status, body.get("error_code"))
    if code == (400, "INVALID_PARAMETER_VALUE") and reason in str(body.get("message", "")):
        return None
    if in_url and "\n" in where and code == (404, "ENDPOINT_NOT_FOUND"):
        return None  # the router's path pattern stops at a newline: no route, nothing written
    return f"{where!r}: {status} {body}"


def test_hostile_paths_are_400s_with_the_rules_reason(server: Running, tmp_path: Path) -> None:
    status, body = call(f"{server.url}{_ARTIFACTS}/probe.txt", "PUT", raw=b"x")
    assert status == 200, body
    failures: list[str | None] = []
    for bad, reason in HOSTILE.values():
        quoted = quote(bad, safe="")
        if bad != "/":  # "/artifacts//" is the route without a path, a different refusal
            answer = call(f"{server.url}{_ARTIFACTS}/{quoted}", "PUT", raw=b"x")
            failures.append(_refused(answer, reason, bad, in_url=True))
            answer = call(f"{server.url}{_ARTIFACTS}/{quoted}")
            failures.append(_refused(answer, reason, bad, in_url=True))
        answer = call(f"{server.url}{_ARTIFACTS}?path={quoted}")
        failures.append(_refused(answer, reason, bad))
    assert [f for f in failures if f] == []
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert not any(p.endswith(("passwd", "/x", "a\x00b")) for p in written), written


def test_harmless_spellings_land_on_the_clean_path(server: Running, tmp_path: Path) -> None:
    for case, (given, meant) in HARMLESS.items():
        url = f"{server.url}{_ARTIFACTS}/{case}/{quote(given, safe='/')}"
        status, body = call(url, "PUT", raw=meant.encode())
        assert status == 200, (given, body)
        status, body = call(f"{server.url}{_ARTIFACTS}?path={quote(case + '/' + given, safe='')}")
        assert status == 200, (given, body)
    for case, (_given, meant) in HARMLESS.items():
        assert (tmp_path / "artifacts" / case / meant).read_bytes() == meant.encode()
