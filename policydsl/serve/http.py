"""The HTTP protocol the service runs on: uvicorn's own over httptools, with a request's head bounded and a
deadline for each request to arrive.

httptools keeps a request line and headers whole in memory however long they grow (uvicorn bounds the head only
on h11): one header of 300 MB grew the server by as much, and a few such requests stopped it. Here the bytes of
a head are counted as they arrive; past MAX_HEAD_BYTES (and one read more at most) the request is answered 431
with the service's error JSON and the connection closed, before any of it reaches the app (what the client
still sends is read and dropped, so that it can read the answer).

uvicorn closes a kept-alive connection left idle after an answer, but never one that sends nothing, half a head
or half a body: such connections stayed open for good, and enough of them (as many as the process may open
files) left the server unable to accept anyone. Here a request must arrive whole within `request_seconds` of
the connection opening or of its own first byte: a head still incomplete then is answered 408, a connection
that sent nothing or a body still incomplete is closed (the app, reading the body, counts a 400
serve.incomplete)."""
from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from policydsl import i18n
from policydsl.errors import PolicyDslError

STRINGS = {
    "E.head_too_large": ("请求行与请求头超过 {limit} 字节", "the request line and headers are larger than {limit} bytes"),
    "E.too_slow": ("请求未在 {seconds} 秒内发完", "the request did not arrive whole within {seconds} s"),
}
i18n.register("serve", STRINGS)

MAX_HEAD_BYTES = 64 * 1024
"""A request line and headers longer than this are refused (431): a decide request's head is a few hundred bytes."""
LINGER_SECONDS = 2.0
REQUEST_SECONDS = 30.0
"""serve --request-timeout's default: a decide request is sent in milliseconds."""


class BoundedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol counting the bytes of each request's head: as they arrive, while it is
    incomplete (None once its headers are complete), then exactly, its URL and headers as parsed."""

    head: int | None = 0
    refused = False
    request_seconds = REQUEST_SECONDS
    deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.deadline = self.loop.call_later(self.request_seconds, self._late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:  # the rest of a refused request, read and dropped until the connection closes
            return
        if self.head is not None:
            self.head += len(data)
        super().data_received(data)  # a head completed in `data` sets head to None; its body is not counted
        if self.head is not None and self.head > MAX_HEAD_BYTES and not self.refused \
                and not self.transport.is_closing():
            self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:  # a kept-alive connection's next request (the first one's runs from connecting)
            self.deadline = self.loop.call_later(self.request_seconds, self._late)

    def on_headers_complete(self) -> None:
        self.head = None
        if len(self.url) + sum(len(name) + len(value) for name, value in self.headers) > MAX_HEAD_BYTES:
            self._refuse()
        if not self.refused:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()
        self.head = 0  # the next request's head, on a kept-alive connection
        self._disarm()

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _late(self) -> None:
        self.deadline = None
        if self.refused or self.transport.is_closing():
            return
        if self.head:  # part of a head: told why (a connection that sent nothing, a browser's preconnect say, is
            # closed unanswered: an answer there could be read as the answer to a request sent just then)
            self._refuse(408, b"Request Timeout", PolicyDslError("serve.E.too_slow", seconds=f"{self.request_seconds:g}"))
        else:
            self.transport.close()

    def _refuse(self, status: int = 431, reason: bytes = b"Request Header Fields Too Large",
                error: PolicyDslError | None = None) -> None:
        error = error or PolicyDslError("serve.E.head_too_large", limit=MAX_HEAD_BYTES)
        body = json.dumps(error.to_dict(), ensure_ascii=False).encode()
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%s" % (status, reason, len(body), body))
        # closed at once, what the client is still sending would reset the connection before it read the answer:
        # the answer ends our side, and the connection closes when the client's does (at most LINGER_SECONDS on)
        self.refused = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
