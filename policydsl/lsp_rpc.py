"""The editor's bytes in, one answer per request out: Content-Length frames read so that a malformed one is
skipped (answered -32700) and the reader resynchronises on the next `Content-Length:`, and a pygls protocol that
answers every request exactly once (-32600, -32601, -32602 and -32002 included) instead of dropping what it
cannot read."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import threading
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import unquote

import attrs
import cattrs
from cattrs.v import format_exception
from lsprotocol import types as lt
from pygls.protocol import (JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol, default_converter,
                            lsp_method)

MAX_CONTENT_LENGTH = 64 * 1024 * 1024  # bytes; a frame announcing more is refused before its body is read
MAX_HEADER_LINE = 8 * 1024  # bytes; a longer header line is malformed
CHUNK = 64 * 1024  # bytes asked of the input at a time
_MARK = b"content-length:"
_HEADER_START = re.compile(re.escape(_MARK), re.IGNORECASE)
_HEADER_LINE = re.compile(rb"([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*\r?\n")


# ------------------------------------------------------------------ frames
class FramingError(Exception):
    """A frame that was skipped, and why (answered as a JSON-RPC parse error with `"id": null`)."""


class FrameReader:
    """Bodies of Content-Length frames from a `read(n)` function (b"" at the end of the input); after a malformed
    frame it skips to the next `Content-Length:`, even one in the middle of a line or inside the bytes a wrong
    length made it read."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.read_some = read
        self.pending = bytearray()  # read but not yet taken, or taken and given back

    def __iter__(self) -> Iterator[Any]:
        """Each message as parsed JSON, or the FramingError of a skipped frame; ends at the end of the input."""
        while True:
            try:
                yield self.parse(self.frame())
            except FramingError as error:
                yield error
                if not self.hunt():
                    return
            except EOFError:
                return

    def frame(self) -> bytes:
        """One frame's body: header lines, a blank line, then exactly Content-Length bytes."""
        length: int | None = None
        seen_header = False
        while True:
            line = self.readline()
            if not line:
                raise EOFError
            if line in (b"\r\n", b"\n"):
                if length is not None:
                    break
                if seen_header:
                    raise FramingError("the header block has no Content-Length")
                continue  # blank lines between frames are harmless
            seen_header = True
            length = self.header(line, length)
        body = self.read(length)
        if len(body) < length:
            raise EOFError
        return body

    def parse(self, body: bytes) -> Any:
        """The body's JSON; FramingError, and the body given back less its first byte, when it is not JSON
        (a wrong Content-Length may have read the start of the next frame)."""
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            self.pending[:0] = body[1:]
            raise FramingError(f"the body is not valid JSON: {exc}") from None

    def header(self, line: bytes, length: int | None) -> int | None:
        """The Content-Length so far after one header line; FramingError (and the line given back for the hunt,
        less its first byte) when the line is malformed."""
        match = _HEADER_LINE.fullmatch(line)
        try:
            if match is None or _HEADER_START.search(line, 1):  # e.g. the rest of a frame glued to the next one
                raise FramingError(f"malformed header line {line[:80]!r}")
            if match.group(1).lower() + b":" != _MARK:
                return length  # Content-Type and any other header: nothing to do
            return content_length(match.group(2))
        except FramingError:
            self.pending[:0] = line[1:]
            raise

    def hunt(self) -> bool:
        """Skip to the next `Content-Length:` and leave it unread; False at the end of the input."""
        carry = b""
        while True:
            chunk = self.readline()
            if not chunk:
                return False
            text = carry + chunk
            found = _HEADER_START.search(text)
            if found:
                self.pending[:0] = text[found.start():]
                return True
            carry = b"" if text.endswith(b"\n") else text[-(len(_MARK) - 1):]  # a mark split between two reads

    def readline(self) -> bytes:
        """Through the next newline, at most MAX_HEADER_LINE bytes; fewer only at the end of the input."""
        end = self.pending.find(b"\n", 0, MAX_HEADER_LINE) + 1
        while not end and len(self.pending) < MAX_HEADER_LINE and self.fill():
            end = self.pending.find(b"\n", 0, MAX_HEADER_LINE) + 1
        return self.take(end or MAX_HEADER_LINE)

    def read(self, size: int) -> bytes:
        """`size` bytes, fewer only at the end of the input."""
        while len(self.pending) < size and self.fill():
            pass
        return self.take(size)

    def fill(self) -> bool:
        """More input into `pending`; False at the end of the input."""
        chunk = self.read_some(CHUNK)
        self.pending += chunk
        return bool(chunk)

    def take(self, size: int) -> bytes:
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data


def content_length(value: bytes) -> int:
    """The body size a Content-Length value announces; FramingError unless it is a size we accept."""
    if not value.isdigit():  # ASCII digits only: no sign, no spaces inside
        raise FramingError(f"Content-Length {value[:40]!r} is not a non-negative integer")
    digits = value.lstrip(b"0") or b"0"
    if len(digits) > len(str(MAX_CONTENT_LENGTH)) or int(digits) > MAX_CONTENT_LENGTH:
        raise FramingError(f"Content-Length {digits[:40].decode()} exceeds the limit of {MAX_CONTENT_LENGTH} bytes")
    return int(digits)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ------------------------------------------------------------------ messages
JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "an integer", float: "a number",
              bool: "a boolean", type(None): "null"}
logger = logging.getLogger(__name__)


def strict_converter() -> cattrs.Converter:
    """pygls' converter, except that a JSON value must already have the type its field asks for: no `"3"` for a
    line, no `true` for a character, no `5` for a uri (cattrs would convert them)."""
    converter = default_converter()
    for kind in (int, float, str, bool):
        converter.register_structure_hook(kind, _exactly(kind))
    return converter


class WrongType(TypeError):
    """A JSON value of another type than its field's."""


def _exactly(kind: type) -> Callable[[Any, type], Any]:
    accepted = (int, float) if kind is float else kind

    def structure(value: Any, target: type) -> Any:
        if not isinstance(value, accepted) or (isinstance(value, bool) and kind is not bool):
            raise WrongType(f"expected {JSON_TYPES[kind]}, got {JSON_TYPES.get(type(value), type(value).__name__)}")
        return target(value)  # `target` may be a subclass: an enum of ints or strings (a DiagnosticSeverity)
    return structure


def envelope_problem(data: Any) -> str | None:
    """Why `data` is no JSON-RPC 2.0 request, notification or response; None when it is one."""
    if isinstance(data, list):
        return "batch messages are not part of the Language Server Protocol"
    if not isinstance(data, dict):
        return f"a message must be a JSON object, not {JSON_TYPES.get(type(data))}"
    if data.get("jsonrpc") != "2.0":
        return 'a message must say "jsonrpc": "2.0"'
    if "method" in data:
        if not isinstance(data["method"], str):
            return "a method must be a string"
        return None if "id" not in data or is_id(data["id"]) else "a request id must be an integer or a string"
    if "id" in data and ("result" in data) != ("error" in data):
        return None  # a response
    return "a message needs a method (request, notification) or an id with one result or error (response)"


def is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def request_id(data: Any) -> int | str | None:
    """The id to answer `data` with: its own when it has a valid one, else None (sent as `"id": null`)."""
    return data["id"] if isinstance(data, dict) and is_id(data.get("id")) else None


def params_problem(error: Exception) -> str:
    """What cattrs found wrong in a message, one `problem @ $.path` per fault, the path in the JSON's names."""
    if not isinstance(error, cattrs.BaseValidationError):
        return f"{type(error).__name__}: {error}"
    return "; ".join(_camel_path(fault) for fault in cattrs.transform_error(error, format_exception=_fault))


def _camel_path(fault: str) -> str:
    """`… @ $.params.text_document` as `… @ $.params.textDocument`: the names the client wrote."""
    what, at, path = fault.rpartition(" @ ")
    return what + at + re.sub(r"(?<=[a-z0-9])_([a-z])", lambda m: m.group(1).upper(), path) if at else fault


def _fault(error: BaseException, kind: type | None) -> str:
    """The value's fault: our own WrongType as it is, a validator's message after cattrs' words."""
    if isinstance(error, WrongType):
        return str(error)
    text = format_exception(error, kind)
    return f"{text}: {error}" if type(error) is ValueError and str(error) else text


class PolicyProtocol(LanguageServerProtocol):
    """pygls' LSP protocol fed by a FrameReader, answering every request exactly once: a skipped frame -32700,
    a message that is no JSON-RPC -32600, params that do not fit -32602, a notification's name used as a request
    -32601, any request before `initialize` -32002 and after `shutdown` -32600; pygls handles the rest."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initialize_received = False

    def receive(self, data: Any) -> None:
        """Handle one item of a FrameReader (parsed JSON or a FramingError), on the event loop."""
        if isinstance(data, FramingError):
            self.send_error(None, lt.ErrorCodes.ParseError, f"parse error: {data}")
            return
        problem = envelope_problem(data)
        if problem is not None:
            self.send_error(request_id(data), lt.ErrorCodes.InvalidRequest, f"invalid request: {problem}")
        elif "method" not in data:
            self.receive_response(data)
        elif "id" in data:
            self.receive_request(data)
        else:
            self.receive_notification(data)

    def receive_request(self, data: dict[str, Any]) -> None:
        method, msg_id = data["method"], data["id"]
        refusal = self.refusal(method)
        if refusal is not None:
            self.send_error(msg_id, *refusal)
            return
        try:
            message = self.structure_message(data)
        except Exception as exc:  # noqa: BLE001 - whatever cattrs raises, the params did not fit
            self.send_error(msg_id, lt.ErrorCodes.InvalidParams, f"invalid params for {method}: {params_problem(exc)}")
            return
        self.initialize_received = self.initialize_received or method == lt.INITIALIZE
        self.handle_message(message)

    def refusal(self, method: str) -> tuple[lt.ErrorCodes, str] | None:
        """Why a request for `method` is not served now, as an error code and message; None when it is."""
        kind = self.get_message_type(method)
        if kind is not None and "id" not in attrs.fields_dict(kind):
            return lt.ErrorCodes.MethodNotFound, f"{method} is a notification, not a request"
        if not self.initialize_received and method != lt.INITIALIZE:
            return lt.ErrorCodes.ServerNotInitialized, f"{method} before initialize"
        if self.initialize_received and method == lt.INITIALIZE:
            return lt.ErrorCodes.InvalidRequest, "initialize may only be sent once"
        if self._shutdown:
            return lt.ErrorCodes.InvalidRequest, f"{method} after shutdown"
        return None

    def receive_notification(self, data: dict[str, Any]) -> None:
        """Notifications before `initialize` or after `shutdown` are dropped (but `exit`), as are those whose
        params do not fit (logged: they have nobody to answer)."""
        method = data["method"]
        if method != lt.EXIT and (not self.initialize_received or self._shutdown):
            return
        try:
            message = self.structure_message(data)
        except Exception as exc:  # noqa: BLE001 - whatever cattrs raises, the params did not fit
            logger.warning("ignored the notification %s: invalid params: %s", method, params_problem(exc))
            return
        self.handle_message(message)

    @lsp_method(lt.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lt.DidChangeTextDocumentParams) -> Iterator[Any]:
        """pygls' handler, but a change to a document that is not open is logged and dropped (pygls failed on it
        with a KeyError, shown to the user as an untranslated "Error in server")."""
        if unquote(params.text_document.uri) not in self.workspace.text_documents:
            logger.warning("ignored a change to %s, which is not open", params.text_document.uri)
            return
        yield from super().lsp_text_document__did_change(params)

    def receive_response(self, data: dict[str, Any]) -> None:
        """A response to a request of ours; one that cannot be read is logged and dropped (never answered)."""
        try:
            message = super().structure_message(data)
        except Exception as exc:  # noqa: BLE001 - pygls raises its own errors for unreadable responses
            logger.warning("ignored the response to %r: %s", data["id"], exc)
            return
        self.handle_message(message)

    def structure_message(self, data: dict[str, Any]) -> Any:
        """A request or notification as the lsprotocol class of its method (pygls' generic classes for other
        methods); the converter's error when the params do not fit, for the caller to answer or log."""
        if "method" not in data:
            return super().structure_message(data)
        generic = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
        return self._converter.structure(data, self.get_message_type(data["method"]) or generic)

    def send_error(self, msg_id: int | str | None, code: lt.ErrorCodes, message: str) -> None:
        """A JSON-RPC error response (built by hand: lsprotocol would leave out an `"id": null`)."""
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": int(code), "message": message}})


# ------------------------------------------------------------------ the loop
def serve(protocol: PolicyProtocol, stdin: BinaryIO) -> None:
    """Hand every message of `stdin` to `protocol` on an event loop, until the end of the input (`exit` ends it
    sooner, with pygls' SystemExit)."""
    asyncio.run(_serve(protocol, functools.partial(os.read, stdin.fileno())))


async def _serve(protocol: PolicyProtocol, read: Callable[[int], bytes]) -> None:
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    # A daemon thread, reading the file descriptor itself: one blocked in a read neither delays the exit nor,
    # holding the lock of a buffered stdin, aborts it.
    reader = threading.Thread(target=_pump, args=(FrameReader(read), loop, protocol.receive, ended),
                              name="lsp-reader", daemon=True)
    reader.start()
    await ended


def _pump(reader: FrameReader, loop: asyncio.AbstractEventLoop, receive: Callable[[Any], None],
          ended: asyncio.Future) -> None:
    """On the reader thread: each item of `reader` to `receive` on `loop`, in order; then settle `ended`."""
    failure: Exception | None = None
    try:
        for item in reader:
            loop.call_soon_threadsafe(receive, item)
    except Exception as exc:  # noqa: BLE001 - a broken reader must end the server, not leave it deaf
        failure = exc
    with contextlib.suppress(RuntimeError):  # the loop is closed: `exit` ended the server first
        loop.call_soon_threadsafe(_settle, ended, failure)


def _settle(ended: asyncio.Future, failure: Exception | None) -> None:
    if failure is None:
        ended.set_result(None)
    else:
        ended.set_exception(failure)
