"""The HTTP protocol the service runs on: uvicorn's own over httptools, with a request's head bounded.

httptools keeps a request line and headers whole in memory however long they grow (uvicorn bounds the head only
on h11): one header of 300 MB grew the server by as much, and a few such requests stopped it. Here the bytes of
a head are counted as they arrive; past MAX_HEAD_BYTES (and one read more at most) the request is answered 431
with the service's error JSON and the connection closed, before any of it reaches the app (what the client
still sends is read and dropped, so that it can read the answer)."""
from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from policydsl import i18n
from policydsl.errors import PolicyDslError

STRINGS = {
    "E.head_too_large": ("请求行与请求头超过 {limit} 字节", "the request line and headers are larger than {limit} bytes"),
}
i18n.register("serve", STRINGS)

MAX_HEAD_BYTES = 64 * 1024
"""A request line and headers longer than this are refused (431): a decide request's head is a few hundred bytes."""
LINGER_SECONDS = 2.0


class BoundedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol counting the bytes of each request's head: as they arrive, while it is
    incomplete (None once its headers are complete), then exactly, its URL and headers as parsed."""

    head: int | None = 0
    refused = False

    def data_received(self, data: bytes) -> None:
        if self.refused:  # the rest of a refused request, read and dropped until the connection closes
            return
        if self.head is not None:
            self.head += len(data)
        super().data_received(data)  # a head completed in `data` sets head to None; its body is not counted
        if self.head is not None and self.head > MAX_HEAD_BYTES and not self.refused \
                and not self.transport.is_closing():
            self._refuse()

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

    def _refuse(self) -> None:
        body = json.dumps(PolicyDslError("serve.E.head_too_large", limit=MAX_HEAD_BYTES).to_dict(),
                          ensure_ascii=False).encode()
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        # closed at once, what the client is still sending would reset the connection before it read the answer:
        # the answer ends our side, and the connection closes when the client's does (at most LINGER_SECONDS on)
        self.refused = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
