"""A hostile client against the real `policydsl lsp` process: broken frames, JSON, JSON-RPC envelopes and params
each get their one error reply, the next message is still answered, and the end of input ends the process."""
from __future__ import annotations

import io
import json
import os
import queue
import shutil
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given, settings, strategies as st

from conftest import POLICIES, ROOT
from policydsl.lsp_rpc import MAX_CONTENT_LENGTH, MAX_HEADER_LINE, FrameReader, FramingError
from test_lsp import Client, open_doc

SHORT = 30  # seconds: a server that went deaf fails the test instead of hanging it (not 5: a loaded CI machine
#            may take that long to start one, and no test here passes by waiting for a timeout)
MIB = 1024 * 1024
ERROR_TYPE = 1  # MessageType.Error in window/logMessage and window/showMessage


def framed(message: object) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def started(folder: Path | None = None) -> Client:
    client = Client(ROOT, timeout=SHORT)
    client.request("initialize", {"processId": None, "rootUri": folder.as_uri() if folder else None,
                                  "capabilities": {}})
    client.notify("initialized", {})
    return client


def stop(client: Client) -> None:
    if client.proc.poll() is None:
        client.proc.kill()
    client.proc.wait(SHORT)
    client.stderr_reader.join(SHORT)


def assert_no_traceback(client: Client, since: int = 0) -> None:
    said = client.stderr[since:].decode("utf-8", "replace")
    assert "Traceback" not in said and "internal error" not in said and "内部错误" not in said, said


class Shared:
    """One server for the module (servers are slow to start) with cart_opening.policy open and checked; started
    afresh for the next test when a test left it unable to answer, so that one failure does not fail the rest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.broken = True
        self.client, self.uri = self.start()

    def start(self) -> tuple[Client, str]:
        client = started(self.folder)
        uri = open_doc(client, self.folder / "cart_opening.policy")
        assert client.diagnostics(uri) == []
        self.broken = False
        return client, uri

    def restart_if_broken(self) -> None:
        if self.broken:
            stop(self.client)
            self.client, self.uri = self.start()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("hostile")
    for name in ("common.policy", "vocabulary.policy", "cart_opening.policy"):
        shutil.copy(POLICIES / name, folder / name)
    server = Shared(folder)
    yield server
    stop(server.client)
    assert_no_traceback(server.client)  # now all of it: a test's own check may miss what came just before its end


@pytest.fixture
def server(shared: Shared) -> Iterator[tuple[Client, str]]:
    """The shared server, checked after each test: still serving, no internal error logged, no traceback."""
    shared.restart_if_broken()
    client, uri = shared.client, shared.uri
    drain(client.notes)
    for box in list(client.replies.values()):
        drain(box)
    stderr_before = len(client.stderr)
    shared.broken = True
    yield client, uri
    assert_serving(client, uri)
    assert_quiet(client, stderr_before)
    shared.broken = False


def drain(box: queue.Queue) -> list:
    items = []
    while True:
        try:
            items.append(box.get_nowait())
        except queue.Empty:
            return items


def assert_serving(client: Client, uri: str) -> None:
    """A request on the open document gets its real answer (the server answers in order, so this is a barrier)."""
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [symbol["name"] for symbol in symbols] == ["cart.opening"]


def assert_quiet(client: Client, stderr_before: int) -> None:
    errors = [note["params"]["message"] for note in drain(client.notes) if note is not None
              and note.get("method") in ("window/logMessage", "window/showMessage")
              and note["params"]["type"] == ERROR_TYPE]
    assert errors == []
    assert_no_traceback(client, stderr_before)


def error_of(reply: dict) -> tuple[int, object]:
    assert "result" not in reply, reply
    return reply["error"]["code"], reply["id"]


# ------------------------------------------------------------------ framing: skipped, answered -32700, resynchronised
LOST = {"jsonrpc": "2.0", "id": "lost", "method": "textDocument/documentSymbol",
        "params": {"textDocument": {"uri": "file:///lost.policy"}}}
LOST_BODY = json.dumps(LOST).encode("utf-8")

FRAMING = {
    "non-numeric length": b"Content-Length: abc\r\n\r\n" + LOST_BODY,
    "negative length": b"Content-Length: -5\r\n\r\n" + LOST_BODY,
    "length too short": b"Content-Length: %d\r\n\r\n" % (len(LOST_BODY) - 10) + LOST_BODY,
    "length too long": b"Content-Length: %d\r\n\r\n" % (len(LOST_BODY) + 10) + LOST_BODY,
    "zero length": b"Content-Length: 0\r\n\r\n" + LOST_BODY,
    "no blank line before the body": b"Content-Length: %d\r\n" % len(LOST_BODY) + LOST_BODY,
    "no Content-Length": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + LOST_BODY,
    "a line that is no header": b"hello there\r\n\r\n" + LOST_BODY,
    "length over the limit": b"Content-Length: %d\r\n\r\n" % (MAX_CONTENT_LENGTH + 1) + LOST_BODY,
    "length of a terabyte": b"Content-Length: %d\r\n\r\n" % (MIB * MIB) + LOST_BODY,
    "length of 5000 digits": b"Content-Length: %s\r\n\r\n" % (b"9" * 5000) + LOST_BODY,
    "body not JSON": b"Content-Length: 5\r\n\r\n{abc}",
    "body not UTF-8": b'Content-Length: 12\r\n\r\n{"a": "\xff\xfe"}',
    "body with trailing data": b"Content-Length: %d\r\n\r\n" % (len(LOST_BODY) + 2) + LOST_BODY + b" x",
}


@pytest.mark.parametrize("bad", FRAMING.values(), ids=FRAMING.keys())
def test_a_bad_frame_gets_one_parse_error_and_the_next_request_its_answer(server, bad: bytes) -> None:
    client, uri = server
    client.send_raw(bad)
    assert_serving(client, uri)
    errors = drain(client._reply_box(None))
    assert [error_of(reply) for reply in errors] == [(-32700, None)]
    assert errors[0]["error"]["message"]
    assert client._reply_box("lost").empty()  # the message in the bad frame was not guessed at


def test_a_bad_frame_glued_to_the_next_one_in_one_write(server) -> None:
    client, uri = server
    request = {"jsonrpc": "2.0", "id": "glued", "method": "textDocument/documentSymbol",
               "params": {"textDocument": {"uri": uri}}}
    client.send_raw(FRAMING["length too short"] + framed(request))
    assert [symbol["name"] for symbol in client.reply("glued")["result"]] == ["cart.opening"]
    assert [error_of(reply) for reply in drain(client._reply_box(None))] == [(-32700, None)]


# ------------------------------------------------------------------ JSON-RPC envelopes: -32600
DOC_PARAMS = {"textDocument": {"uri": "file:///nowhere/x.policy"}}
ENVELOPES = {
    "an empty batch": ([], None),
    "a batch": ([{"jsonrpc": "2.0", "id": "in-batch", "method": "textDocument/documentSymbol",
                  "params": DOC_PARAMS}], None),
    "a string": ("hello", None),
    "a number": (42, None),
    "no jsonrpc member": ({"id": "no-version", "method": "textDocument/documentSymbol", "params": DOC_PARAMS},
                          "no-version"),
    "jsonrpc 1.0": ({"jsonrpc": "1.0", "id": "v1", "method": "textDocument/documentSymbol", "params": DOC_PARAMS},
                    "v1"),
    "neither method nor result": ({"jsonrpc": "2.0", "id": "bare"}, "bare"),
    "a method that is no string": ({"jsonrpc": "2.0", "id": "m5", "method": 5}, "m5"),
    "a boolean id": ({"jsonrpc": "2.0", "id": True, "method": "textDocument/documentSymbol", "params": DOC_PARAMS},
                     None),
    "a fractional id": ({"jsonrpc": "2.0", "id": 1.5, "method": "textDocument/documentSymbol",
                         "params": DOC_PARAMS}, None),
    "an object id": ({"jsonrpc": "2.0", "id": {"n": 1}, "method": "textDocument/documentSymbol",
                      "params": DOC_PARAMS}, None),
    "a null id": ({"jsonrpc": "2.0", "id": None, "method": "textDocument/documentSymbol", "params": DOC_PARAMS},
                  None),
}


@pytest.mark.parametrize(("message", "reply_id"), ENVELOPES.values(), ids=ENVELOPES.keys())
def test_an_invalid_json_rpc_message_gets_invalid_request(server, message: object, reply_id: object) -> None:
    client, uri = server
    client.send_raw(framed(message))
    assert error_of(client.reply(reply_id)) == (-32600, reply_id)
    assert_serving(client, uri)
    assert drain(client._reply_box(None)) == []  # exactly one answer
    assert client._reply_box("in-batch").empty()


# ------------------------------------------------------------------ params: -32602
GOOD_POSITION = {"line": 0, "character": 0}
POSITION_PARAMS = {
    "null params": None,
    "params as a list": [1, 2],
    "a negative line": {**DOC_PARAMS, "position": {"line": -1, "character": 0}},
    "a negative character": {**DOC_PARAMS, "position": {"line": 0, "character": -3}},
    "a line beyond uinteger": {**DOC_PARAMS, "position": {"line": 2 ** 40, "character": 0}},
    "no textDocument": {"position": GOOD_POSITION},
    "no position": DOC_PARAMS,
    "a textDocument that is a string": {"textDocument": "file:///x.policy", "position": GOOD_POSITION},
    "a line that is a string": {**DOC_PARAMS, "position": {"line": "3", "character": 0}},
    "a character that is a boolean": {**DOC_PARAMS, "position": {"line": 0, "character": True}},
    "a uri that is a number": {"textDocument": {"uri": 5}, "position": GOOD_POSITION},
}
POSITION_METHODS = ("textDocument/hover", "textDocument/definition", "textDocument/completion",
                    "textDocument/references")


def with_context(method: str, params: object) -> object:
    """References also need a `context`: give it one, so that only the broken part is broken."""
    if method == "textDocument/references" and isinstance(params, dict):
        return {**params, "context": {"includeDeclaration": True}}
    return params


@pytest.mark.parametrize("method", POSITION_METHODS)
@pytest.mark.parametrize("params", POSITION_PARAMS.values(), ids=POSITION_PARAMS.keys())
def test_invalid_params_of_a_position_request_get_invalid_params(server, method: str, params: object) -> None:
    client, _ = server
    reply = client.call(method, with_context(method, params))
    assert error_of(reply) == (-32602, client.next_id)
    assert method in reply["error"]["message"]


@pytest.mark.parametrize(("method", "params"), [
    ("textDocument/documentSymbol", None),
    ("textDocument/documentSymbol", {"textDocument": {}}),
    ("textDocument/formatting", None),
    ("textDocument/formatting", {"textDocument": {"uri": "file:///x.policy"}}),  # no options
    ("textDocument/references", {**DOC_PARAMS, "position": GOOD_POSITION}),  # no context
    ("textDocument/completion", {**DOC_PARAMS, "position": GOOD_POSITION, "context": "invoked"}),
])
def test_invalid_params_of_other_requests_get_invalid_params(server, method: str, params: object) -> None:
    client, _ = server
    reply = client.call(method, params)
    assert error_of(reply) == (-32602, client.next_id)


@pytest.mark.parametrize(("params", "message"), [
    ({**DOC_PARAMS, "position": {"line": "3", "character": 0}},
     "expected an integer, got a string @ $.params.position.line"),
    ({"position": GOOD_POSITION}, "required field missing @ $.params.textDocument"),
    ({**DOC_PARAMS, "position": {"line": -1, "character": 0}},
     "invalid value: Position.line should be in range [0:2147483647], but was -1. @ $.params.position"),
])
def test_the_error_says_what_is_wrong_where_in_the_names_the_client_wrote(server, params: dict, message: str) -> None:
    client, _ = server
    reply = client.call("textDocument/hover", params)
    assert reply["error"]["message"] == f"invalid params for textDocument/hover: {message}"


def test_a_notification_with_invalid_params_is_dropped_quietly(server) -> None:
    client, uri = server
    client.notify("textDocument/didChange", None)
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri}})
    client.notify("textDocument/didClose", {"textDocument": {"uri": -1}})
    assert_serving(client, uri)
    assert drain(client._reply_box(None)) == []


# ------------------------------------------------------------------ methods: -32601
@pytest.mark.parametrize("method", ["foo/bar", "$/somethingNew", "initialized", "textDocument/didOpen"])
def test_an_unknown_request_gets_method_not_found(server, method: str) -> None:
    client, _ = server
    reply = client.call(method, {})
    assert error_of(reply) == (-32601, client.next_id)


def test_an_unknown_notification_is_ignored(server) -> None:
    client, uri = server
    client.notify("$/somethingNew", {"x": 1})
    client.notify("foo/bar", None)
    assert_serving(client, uri)


# ------------------------------------------------------------------ documents nobody opened
GHOST = "file:///nowhere/at/all/ghost.policy"


@pytest.mark.parametrize(("method", "params", "answer"), [
    ("textDocument/hover", {"textDocument": {"uri": GHOST}, "position": GOOD_POSITION}, None),
    ("textDocument/definition", {"textDocument": {"uri": GHOST}, "position": GOOD_POSITION}, None),
    ("textDocument/completion", {"textDocument": {"uri": GHOST}, "position": GOOD_POSITION}, []),
    ("textDocument/references", {"textDocument": {"uri": GHOST}, "position": GOOD_POSITION,
                                 "context": {"includeDeclaration": True}}, []),
    ("textDocument/documentSymbol", {"textDocument": {"uri": GHOST}}, []),
    ("textDocument/formatting", {"textDocument": {"uri": GHOST}, "options": {"tabSize": 2, "insertSpaces": True}},
     []),
])
def test_a_document_never_opened_and_not_on_disk_gets_an_empty_answer(server, method: str, params: dict,
                                                                      answer: object) -> None:
    client, _ = server
    assert client.request(method, params) == answer


@pytest.mark.parametrize("change", [
    {"text": "policy ghost.doc\n"},
    {"range": {"start": GOOD_POSITION, "end": GOOD_POSITION}, "text": "x"},
])
def test_a_change_to_a_document_never_opened_is_dropped_quietly(server, change: dict) -> None:
    # pygls applied it to a document it did not have: a KeyError, shown to the user as the untranslated error
    # message "Error in server: KeyError: 'file:///…'" (window/showMessage). The fixture checks no error is shown.
    client, _ = server
    client.notify("textDocument/didChange", {"textDocument": {"uri": GHOST, "version": 2}, "contentChanges": [change]})
    assert client.request("textDocument/documentSymbol", {"textDocument": {"uri": GHOST}}) == []


def test_a_document_never_opened_that_names_a_fifo_is_not_read(tmp_path: Path) -> None:
    # pygls read a document nobody opened from disk, whole: a hover on a FIFO blocked the server for good (and on
    # /dev/zero it grew without bound). It is read now as `check` reads a policy file: a regular file, bounded.
    fifo = tmp_path / "pipe.policy"
    os.mkfifo(fifo)
    client = started()
    try:
        for method, params, answer in [
                ("textDocument/hover", {"position": GOOD_POSITION}, None),
                ("textDocument/formatting", {"options": {"tabSize": 2, "insertSpaces": True}}, []),
                ("textDocument/hover", {"position": GOOD_POSITION}, None)]:
            for uri in (fifo.as_uri(), "file:///dev/zero"):
                assert client.request(method, {"textDocument": {"uri": uri}, **params}) == answer
    finally:
        stop(client)
    assert_no_traceback(client)


# ------------------------------------------------------------------ the life cycle
def test_requests_before_initialize_get_server_not_initialized_and_initialize_comes_once() -> None:
    client = Client(ROOT, timeout=SHORT)
    try:
        client.notify("textDocument/didOpen", {"textDocument": {"uri": GHOST, "languageId": "policydsl",
                                                                "version": 1, "text": ""}})
        reply = client.call("textDocument/hover", {"textDocument": {"uri": GHOST}, "position": GOOD_POSITION})
        assert error_of(reply) == (-32002, client.next_id)
        assert error_of(client.call("initialize", None)) == (-32602, client.next_id)
        initialize = {"processId": None, "rootUri": None, "capabilities": {}}
        assert "capabilities" in client.request("initialize", initialize)
        assert error_of(client.call("initialize", initialize)) == (-32600, client.next_id)  # only once
        assert client.request("textDocument/hover", {"textDocument": {"uri": GHOST},
                                                     "position": GOOD_POSITION}) is None
    finally:
        stop(client)


def test_requests_after_shutdown_get_invalid_request_and_exit_still_exits_0() -> None:
    client = started()
    assert client.request("shutdown", None) is None
    reply = client.call("textDocument/hover", {"textDocument": {"uri": GHOST}, "position": GOOD_POSITION})
    assert error_of(reply) == (-32600, client.next_id)
    client.notify("exit", None)
    assert client.proc.wait(SHORT) == 0


def test_exit_without_shutdown_exits_1() -> None:
    client = started()
    client.notify("exit", None)
    assert client.proc.wait(SHORT) == 1


INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"processId": None, "rootUri": None, "capabilities": {}}}


@pytest.mark.parametrize("last_words", [b"", b"Content-Len", b"Content-Length: 100\r\n\r\n{\"jsonrpc\"",
                                        framed(INITIALIZE) + framed({"jsonrpc": "2.0", "id": 9, "method": "shutdown"})],
                         ids=["nothing", "half a header", "half a body", "shutdown without exit"])
def test_end_of_input_ends_the_process_with_1(last_words: bytes) -> None:
    client = Client(ROOT, timeout=SHORT)
    try:
        client.send_raw(last_words)
        client.proc.stdin.close()
        assert client.proc.wait(SHORT) == 1
    finally:
        stop(client)
    assert_no_traceback(client)


# ------------------------------------------------------------------ the frame reader alone, on any bytes
MESSAGE = {"jsonrpc": "2.0", "id": 1, "method": "shutdown"}


def frames_of(data: bytes, chunk: int | None = None) -> list:
    stream = io.BytesIO(data)
    return list(FrameReader(lambda n: stream.read(min(n, chunk or n))))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=64))
def test_the_reader_ends_on_any_bytes(data: bytes, chunk: int) -> None:
    items = frames_of(data, chunk)
    assert all(isinstance(item, FramingError) or not isinstance(item, Exception) for item in items)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(alphabet="Content-Lgh: 0123456789{}\r\n\"x", max_size=120)
                 .map(str.encode)).filter(lambda garbage: b"content-length:" not in garbage.lower()),
       st.sampled_from([0, MAX_HEADER_LINE - 3, 3 * MAX_HEADER_LINE + 5]), st.integers(min_value=1, max_value=64))
def test_the_reader_finds_the_next_frame_after_any_garbage(garbage: bytes, padding: int, chunk: int) -> None:
    """Whatever came before (with no Content-Length: of its own), a whole frame after it is read."""
    items = frames_of(b"a" * padding + garbage + framed(MESSAGE), chunk)
    assert items[-1] == MESSAGE
    assert all(isinstance(item, FramingError) for item in items[:-1])


def test_a_buffer_larger_than_check_reads_a_file_is_not_analysed(tmp_path: Path) -> None:
    # `check` refuses a policy file over 8 MiB unread; an editor's buffer of that size (opened, or edited to it) was
    # parsed and checked whole, up to the 64 MiB of a message. It gets check's P0104 now, and a buffer back under
    # the bound is analysed again.
    client = started(tmp_path)
    try:
        path = tmp_path / "big.policy"
        line = "# " + "注" * 40 + "\n"
        big = line * (8 * 1024 * 1024 // len(line.encode()) + 1)
        uri = open_doc(client, path, big)
        diags = client.diagnostics(uri)
        assert [(d["code"], d["message"].splitlines()[0]) for d in diags] == [("P0104", "无法读取文件：超过 8 MiB")]
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                                 "contentChanges": [{"text": "policy demo.small\n"}]})
        codes = [d["code"] for d in client.wait_for("textDocument/publishDiagnostics",
                                                     lambda p: p["uri"] == uri and p["diagnostics"] != diags)["diagnostics"]]
        assert "P0104" not in codes
        assert_no_traceback(client)
    finally:
        stop(client)
