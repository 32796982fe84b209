"""The HTTP/1.1 connection: uvicorn's httptools protocol with limits and JSON refusals.

uvicorn's protocol has no limit on a request's head for httptools (its ``h11`` option has one,
but h11 is the slow parser), closes an idle keep-alive connection only after a first request,
has no deadline for a request that arrives a byte at a time, and answers a malformed request
with a plain-text 400. This subclass adds, per connection:

* a cap on the request line and headers (``max_header_bytes``): bytes are fed to the parser
  only up to the cap, and a head that has not ended by then gets 431, so a 128 MiB header is
  never parsed (httptools collects a header value by concatenation);
* the keep-alive timeout from the moment the connection opens, not only between requests;
* a request deadline (``request_timeout``) from a request's first byte until its body has
  been received: a client sending too slowly gets 408 and the connection is closed (one timer
  per connection checks it);
* JSON for every answer the protocol gives itself, in the MLflow error format
  (``{"error_code": "BAD_REQUEST", "message": ...}``), as the app answers.

Each connection also gets TCP_NODELAY and is counted, and so is each request until its answer
has been sent: the batcher reads both (a request alone in the process is predicted at once).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from modelpack.serving._sockets import nodelay

__all__ = ["REFUSED", "protocol_class", "refusal"]

#: scope key: the status this module answered a request with while the app read its body
REFUSED = "modelpack.refused"

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def refusal(status: int, code: str, message: str) -> bytes:
    """A complete HTTP response refusing a request with a JSON body; the connection closes."""
    body = orjson.dumps({"error_code": code, "message": message})
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Error")),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


def protocol_class(*, max_header_bytes: int, request_timeout: float) -> type:
    """uvicorn's httptools protocol with the limits above (one class per server)."""
    import logging

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    log = logging.getLogger("modelpack.serving")
    header_kb = f"{max_header_bytes / 1024:g} KiB"

    class Protocol(HttpToolsProtocol):
        #: open connections in this process; the batcher reads it to know who may still send
        open = 0
        #: requests of this process whose head has been read and whose answer has not been sent
        #: (running or waiting behind another on their connection); 1 means a request is alone
        pending = 0

        # ------------------------------------------------------------ connection
        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                nodelay(sock)
            Protocol.open += 1
            self._pending = 0  # this connection's share of Protocol.pending
            self._in_head = True  # between requests, or reading a request's line and headers
            self._head = 0  # bytes of the current head so far
            # When the current request's first byte came (None between requests), and the one
            # timer that checks it: re-armed only when it fires, not per request, so keep-alive
            # traffic costs a clock read per request rather than a timer.
            self._started: float | None = None
            self._timer: Any = None
            super().connection_made(transport)
            # uvicorn arms the idle timer only after a response; a client that connects and
            # sends nothing is idle too
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def connection_lost(self, exc: Exception | None) -> None:
            Protocol.open -= 1
            Protocol.pending -= self._pending  # answered or not, nothing more will be sent
            self._pending = 0
            self._stop_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                if self._started is None:
                    self._started = self.loop.time()
                    if self._timer is None:
                        self._timer = self.loop.call_later(request_timeout, self._check_time)
                room = max_header_bytes - self._head
                if len(data) > room:
                    return self._past_cap(data, room)
                self._head += len(data)
            super().data_received(data)

        def _past_cap(self, data: bytes, room: int) -> None:
            """Feed what fits under the header cap; refuse if the head has not ended there."""
            self._head = max_header_bytes
            if room > 0:
                super().data_received(data[:room])
                if self.transport.is_closing():
                    return
            if self._in_head and self._head >= max_header_bytes:
                log.warning("refused a request whose headers passed %s (431)", header_kb)
                return self._refuse(
                    431,
                    "REQUEST_HEADER_FIELDS_TOO_LARGE",
                    f"the request line and headers are larger than {header_kb}; send smaller "
                    "headers or raise the limit (--max-header-kb)",
                )
            self.data_received(data[room:])  # the body, or the next request

        # ------------------------------------------------------------ parser callbacks
        def on_headers_complete(self) -> None:
            self._in_head = False
            self._pending += 1
            Protocol.pending += 1
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            if self._pending:
                self._pending -= 1
                Protocol.pending -= 1
            super().on_response_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head, self._head, self._started = True, 0, None

        # ------------------------------------------------------------ refusals
        def send_400_response(self, msg: str) -> None:
            # called while uvicorn handles the parser's error: name what the parser found
            error = sys.exc_info()[1]
            detail = str(error).strip() if error is not None else ""
            self._refuse(400, "BAD_REQUEST", f"malformed HTTP request: {detail or msg}")

        def _refuse(self, status: int, code: str, message: str) -> None:
            self._stop_timer()
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                # the app, if it is reading this request's body, sees a disconnect and logs
                # the answer given here
                cycle.scope[REFUSED] = status  # type: ignore[literal-required]
                cycle.disconnected = True
                cycle.message_event.set()
            if not self.transport.is_closing():
                self.transport.write(refusal(status, code, message))
                self.transport.close()

        def _check_time(self) -> None:
            self._timer = None
            if self._started is None:  # between requests: the keep-alive timer's business
                return
            now = self.loop.time()
            left = self._started + request_timeout - now
            cycle = self.cycle
            busy = cycle is not None and not cycle.response_complete
            # the app is answering already, or a pipelined request waits for the one before it
            if left <= 0 and busy and (cycle.response_started or self._in_head):
                self._started, left = now, request_timeout
            if left > 0:
                self._timer = self.loop.call_later(left, self._check_time)
                return
            log.warning(
                "closed a connection whose request took over %g s to arrive", request_timeout
            )
            self._refuse(
                408,
                "REQUEST_TIMEOUT",
                f"the request did not arrive within {request_timeout:g} s of its first byte; "
                "send it faster or raise the limit (--request-timeout)",
            )

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    return Protocol
