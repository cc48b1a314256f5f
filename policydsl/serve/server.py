"""Running the service: the bearer token from its file, the listening socket, and uvicorn over them."""
from __future__ import annotations

import logging
import socket

from starlette.applications import Starlette

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.fsutil import os_reason

STRINGS = {
    "E.token_empty": ("令牌文件 {path} 是空的", "the token file {path} is empty"),
    "E.bind": ("无法监听 {host}:{port}：{reason}", "cannot listen on {host}:{port}: {reason}"),
    "serving": ("正在服务政策库 {revision}（{count} 条政策）：http://{host}:{port}",
                "serving book {revision} ({count} policies) at http://{host}:{port}"),
}
s = i18n.register("serve", STRINGS)


def read_token(path: str) -> str:
    """The bearer token in the file at `path` (surrounding whitespace dropped); an empty one is refused."""
    from policydsl.source import read_secret, unreadable_reason

    try:
        token = read_secret(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyDslError("E.unreadable", path=path, reason=unreadable_reason(exc)) from None
    if not token:
        raise PolicyDslError("serve.E.token_empty", path=path)
    return token


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (port 0: one the system picks), or a clear error before uvicorn starts.
    It listens at once, so a client told the address connects (and waits in the backlog) even before uvicorn runs."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # the connections accepted inherit it: a response is sent as soon as written, not held by Nagle's algorithm
    # until the client acknowledges its headers (a client's delayed ACK cost ~40 ms per request on keep-alive)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        raise PolicyDslError("serve.E.bind", host=host, port=port, reason=os_reason(exc) if isinstance(exc, OSError) else str(exc)) from None
    return sock


def run(app: Starlette, sock: socket.socket, request_seconds: float) -> None:
    """Serve `app` on the bound socket with uvicorn until stopped (SIGINT or SIGTERM), its requests' heads bounded
    and each to arrive whole within `request_seconds` (serve/http.py). The service's own lines (reloads, refused
    edits) go to standard error beside uvicorn's."""
    import uvicorn

    own = logging.getLogger("policydsl.serve")
    if not own.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        own.addHandler(handler)
        own.setLevel(logging.INFO)
        own.propagate = False
    from policydsl.serve.http import BoundedHttp

    http = type("Http", (BoundedHttp,), {"request_seconds": request_seconds})
    uvicorn.Server(uvicorn.Config(app, http=http, log_level="warning")).run(sockets=[sock])
