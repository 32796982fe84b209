"""The listening socket of the scoring server, and per-connection socket options.

Every connection gets TCP_NODELAY. uvicorn writes a response's head and body separately;
without the option Nagle's algorithm holds the body back until the client's delayed ACK, about
40 ms later on Linux, and plain uvicorn leaves the option off on sockets shared between worker
processes under the asyncio loop.
"""

from __future__ import annotations

import socket

__all__ = ["BACKLOG", "address", "bind", "nodelay"]

#: pending connections the kernel queues before the server accepts them
BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A bound, not yet listening, TCP socket; raises OSError naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror}") from None
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def nodelay(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a Unix socket)
        pass
