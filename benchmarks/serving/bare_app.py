"""The ceiling: an ASGI app that reads the request and answers a fixed body, on the same stack.

Served by ``bench_serving.py`` with ``uvicorn --loop uvloop --http httptools`` to show what the
web stack alone costs per request on this machine.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"predictions": [0.0]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
