"""Hot reload, /metrics and the socket of `policydsl serve`, end to end: the real server watches a copy of the real book;
the tests edit the copy on disk and drive the server over HTTP.

- a clean edit is served after the reload, and /v1/status, /metrics and the decisions' revision header say so;
- a broken edit is refused: the last good book keeps answering, /v1/status shows the diagnostics;
- every answer is the answer of the one book its revision header names: two books are swapped many times under
  a stream of whole-book requests (a handler reads the served book once, whatever a reload swaps in meanwhile);
- SIGHUP reloads a server started with --no-watch;
- a client gone before its body ends is counted as a 400, never as an internal error;
- a request not sent whole within --request-timeout is answered 408, or its connection closed;
- the listening socket's connections send at once (TCP_NODELAY: without it a keep-alive client waited ~40 ms for
  every answer, Nagle's algorithm holding the body until the client acknowledged the headers)."""
from __future__ import annotations

import json
import shutil
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from policydsl.serve.book import revision

from conftest import POLICIES
from test_serve import POOR, start, stop

THRESHOLD = "  = 1000 from 2023-01-01\n"  # cart_opening.policy: the followers a personal account needs, today
LOWER = "  = 900 from 2023-01-01\n"
WAIT = 90.0  # seconds a reload may take on a loaded 2-core machine (a load with the cache cold, ~2 s alone)


def until(probe: Callable[[], Any], what: str) -> Any:
    """Poll `probe` until it returns something truthy (a reload is asynchronous), or fail saying `what`."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT} s: {what}")


def replace(path: Path, old: str, new: str) -> None:
    """Edit a policy file in one step (written beside it, renamed over it): a reload that came between a
    truncating write and its end would read half a file and be refused for that (seen under load)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    fresh = path.with_name(path.name + ".tmp")
    fresh.write_text(text.replace(old, new), encoding="utf-8")
    fresh.replace(path)


def metric(text: str, line_start: str) -> float:
    """The value of the one sample in Prometheus text whose line starts with `line_start`."""
    [value] = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start)]
    return float(value)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    return copy


@pytest.fixture
def served(book: Path) -> Iterator[tuple[str, Path]]:
    proc, base = start("--policies", str(book))
    try:
        yield base, book
    finally:
        stop(proc)


def decide(base: str, facts: dict[str, Any], policy: str = "cart.opening") -> httpx.Response:
    return httpx.post(f"{base}/v1/policies/{policy}/decide", json={"facts": facts, "at": "2026-12-05"}, timeout=30)


def test_a_clean_edit_is_served_after_the_reload(served: tuple[str, Path]) -> None:
    base, book = served
    before = httpx.get(base + "/v1/status").json()
    first = decide(base, POOR)
    assert (first.json()["outcome"], first.headers["x-book-revision"]) == ("deny", before["revision"])
    replace(book / "cart_opening.policy", THRESHOLD, LOWER)
    after = until(lambda: (s := httpx.get(base + "/v1/status").json())["revision"] != before["revision"] and s,
                  "the edited book is served")
    again = decide(base, POOR)
    assert (again.json()["outcome"], again.json()["values"], again.headers["x-book-revision"]) == \
        ("allow", {"cart.min_fans": 900}, after["revision"])
    assert after["last_refused"] is None and after["loaded_at"] >= before["loaded_at"]
    scraped = httpx.get(base + "/metrics")
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scraped.text
    assert metric(text, 'policydsl_reloads_total{result="ok"}') == 1.0
    assert metric(text, 'policydsl_reloads_total{result="refused"}') == 0.0
    assert metric(text, f'policydsl_book_info{{revision="{after["revision"]}"}}') == 1.0
    assert metric(text, 'policydsl_decisions_total{outcome="deny",policy="cart.opening"}') == 1.0
    assert metric(text, 'policydsl_decisions_total{outcome="allow",policy="cart.opening"}') == 1.0


def test_a_broken_edit_is_refused_and_the_last_good_book_keeps_answering(served: tuple[str, Path]) -> None:
    base, book = served
    good = httpx.get(base + "/v1/status").json()
    policy = book / "cart_opening.policy"
    replace(policy, THRESHOLD, "  = 1000 from 2023-01-01 until\n")  # a period without its end: a syntax error
    status = until(lambda: (s := httpx.get(base + "/v1/status").json())["last_refused"] and s,
                   "the broken edit is refused")
    refused = status["last_refused"]
    assert status["revision"] == good["revision"]  # still the good book
    assert (refused["code"], refused["revision"] != good["revision"]) == ("has_errors", True)
    # what `policydsl check` says of it: the syntax error, and book.policy's three references to the policy lost
    assert [(Path(d["file"]).name, d["line"], d["column"], d["code"], d["severity"]) for d in refused["diagnostics"]] \
        == [("book.policy", 8, 18, "P0201", "error"), ("book.policy", 8, 50, "P0201", "error"),
            ("book.policy", 37, 33, "P0201", "error"), ("cart_opening.policy", 14, 3, "P0101", "error")]
    answer = decide(base, POOR)
    assert (answer.status_code, answer.json()["outcome"], answer.headers["x-book-revision"]) == \
        (200, "deny", good["revision"])
    text = httpx.get(base + "/metrics").text
    assert metric(text, 'policydsl_reloads_total{result="refused"}') == 1.0
    assert metric(text, 'policydsl_reloads_total{result="ok"}') == 0.0
    replace(policy, "  = 1000 from 2023-01-01 until\n", LOWER)  # mended: served, and the refusal stays on record
    fixed = until(lambda: (s := httpx.get(base + "/v1/status").json())["revision"] != good["revision"] and s,
                  "the mended book is served")
    assert fixed["last_refused"] == refused
    assert decide(base, POOR).json()["outcome"] == "allow"


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_a_fifo_or_a_device_in_the_folder_is_refused_and_the_book_keeps_answering(served: tuple[str, Path],
                                                                                    kind: str) -> None:
    # The revision read every file whole: a FIFO named *.policy blocked the poll forever (no reload ever again),
    # a symlink to /dev/zero was read until memory ran out (2.6 GB and a MemoryError under a 3 GB limit; a
    # server started on such a folder died with an internal error). Now each is P0104, refused unread ("not a
    # regular file"; the link: "a link to a file not named *.policy").
    import os

    base, book = served
    good = httpx.get(base + "/v1/status").json()
    hostile = book / "hostile.policy"
    if kind == "fifo":
        os.mkfifo(hostile)
    else:
        hostile.symlink_to("/dev/zero")
    status = until(lambda: (s := httpx.get(base + "/v1/status").json())["last_refused"] and s,
                   "the folder with a FIFO or a device is refused")
    refused = status["last_refused"]
    assert (status["revision"], refused["code"]) == (good["revision"], "has_errors")
    assert [(Path(d["file"]).name, d["code"], d["message"]) for d in refused["diagnostics"]] == \
        [("hostile.policy", "P0104", {"zh": "无法读取文件：不是普通文件", "en": "cannot read the file: not a regular file"}
          if kind == "fifo" else {"zh": "无法读取文件：链接指向的不是 .policy 文件",
                                  "en": "cannot read the file: a link to a file not named *.policy"})]
    assert decide(base, POOR).json()["outcome"] == "deny"
    hostile.unlink()
    assert revision(str(book)) == good["revision"]


def test_a_removed_policy_folder_is_refused_and_the_book_keeps_answering(served: tuple[str, Path]) -> None:
    base, book = served
    good = httpx.get(base + "/v1/status").json()
    for path in book.glob("*.policy"):
        path.unlink()
    status = until(lambda: (s := httpx.get(base + "/v1/status").json())["last_refused"] and s,
                   "the empty folder is refused")
    assert (status["revision"], status["last_refused"]["code"]) == (good["revision"], "no_policies")
    assert decide(base, POOR).json()["outcome"] == "deny"


def test_a_folder_deleted_and_made_again_by_a_deploy_is_served(served: tuple[str, Path]) -> None:
    """inotify loses a folder that is deleted: the revision compared every few seconds finds the new one."""
    base, book = served
    good = httpx.get(base + "/v1/status").json()
    shutil.rmtree(book)
    until(lambda: httpx.get(base + "/v1/status").json()["last_refused"], "the vanished folder is refused")
    shutil.copytree(POLICIES, book)
    replace(book / "cart_opening.policy", THRESHOLD, LOWER)
    status = until(lambda: (s := httpx.get(base + "/v1/status").json())["revision"] != good["revision"] and s,
                   "the folder made again is served")
    # (a reload may have met the copy half made and refused it: the refusal on record is the last one, whichever)
    assert status["last_refused"]["code"] in ("no_policies", "has_errors")
    assert (status["revision"], decide(base, POOR).json()["outcome"]) == (revision(str(book)), "allow")


def test_a_folder_renamed_over_by_a_deploy_is_served(served: tuple[str, Path]) -> None:
    base, book = served
    good = httpx.get(base + "/v1/status").json()
    release = book.parent / "release-2"
    shutil.copytree(POLICIES, release)
    replace(release / "cart_opening.policy", THRESHOLD, LOWER)
    shutil.rmtree(book)
    release.rename(book)
    status = until(lambda: (s := httpx.get(base + "/v1/status").json())["revision"] != good["revision"] and s,
                   "the release renamed into place is served")
    assert (status["revision"], decide(base, POOR).json()["outcome"]) == (revision(str(book)), "allow")


def test_a_symlink_switched_to_another_release_is_served(tmp_path: Path) -> None:
    """`--policies current`, `current -> release-1` switched atomically to `release-2`: no event reaches the
    watch of release-1, the revision compared every few seconds finds it."""
    first, second, current = tmp_path / "release-1", tmp_path / "release-2", tmp_path / "current"
    shutil.copytree(POLICIES, first)
    shutil.copytree(POLICIES, second)
    replace(second / "cart_opening.policy", THRESHOLD, LOWER)
    current.symlink_to(first)
    proc, base = start("--policies", str(current))
    try:
        good = httpx.get(base + "/v1/status").json()
        (tmp_path / "next").symlink_to(second)
        (tmp_path / "next").replace(current)
        status = until(lambda: (s := httpx.get(base + "/v1/status").json())["revision"] != good["revision"] and s,
                       "the release the link points to now is served")
        assert (status["revision"], decide(base, POOR).json()["outcome"]) == (revision(str(second)), "allow")
    finally:
        stop(proc)


def test_while_books_are_swapped_each_answer_is_the_book_its_revision_header_names(tmp_path: Path) -> None:
    """Books A and B differ in cart.opening's threshold; each whole-book answer, made while the two are swapped
    six times, has the outcome of the book its X-Book-Revision header names."""
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    policy = folder / "cart_opening.policy"
    variants = {"a": policy.read_text(encoding="utf-8"), "b": policy.read_text(encoding="utf-8").replace(THRESHOLD, LOWER)}
    proc, base = start("--policies", str(folder))
    try:
        facts = POOR
        seen: dict[str, set[str]] = {}
        stop_flag = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop_flag.is_set():
                    answer = client.post("/v1/book/decide", json={"facts": facts, "at": "2026-12-05"})
                    summary = answer.json()["summary"]
                    outcome = {"cart.opening" in summary["denied"]: "deny", "cart.opening" in summary["allowed"]: "allow"}
                    seen.setdefault(answer.headers["x-book-revision"], set()).add(outcome[True])
        worker = threading.Thread(target=hammer)
        worker.start()
        revisions = []
        try:
            for flip in range(6):
                text = variants["b" if flip % 2 == 0 else "a"]
                previous = httpx.get(base + "/v1/status").json()["revision"]
                policy.write_text(text, encoding="utf-8")
                revisions.append(until(lambda: (r := httpx.get(base + "/v1/status").json()["revision"]) != previous
                                       and r, f"flip {flip} is served"))
        finally:
            stop_flag.set()
            worker.join(60)
        assert len(set(revisions)) == 2  # the two books, each served three times
        assert seen == {revisions[0]: {"allow"}, revisions[1]: {"deny"}}
    finally:
        stop(proc)


def test_sighup_reloads_a_server_that_does_not_watch(book: Path) -> None:
    proc, base = start("--policies", str(book), "--no-watch")
    try:
        before = httpx.get(base + "/v1/status").json()["revision"]
        replace(book / "cart_opening.policy", THRESHOLD, LOWER)
        time.sleep(1.0)  # not watching: nothing happens by itself
        assert httpx.get(base + "/v1/status").json()["revision"] == before
        proc.send_signal(signal.SIGHUP)
        until(lambda: httpx.get(base + "/v1/status").json()["revision"] != before, "SIGHUP reloads")
        assert decide(base, POOR).json()["outcome"] == "allow"
    finally:
        stop(proc)


def test_metrics_count_requests_by_route_template_never_by_raw_path(served: tuple[str, Path]) -> None:
    base, _ = served
    assert decide(base, POOR, policy="no.such.policy").status_code == 404
    assert decide(base, {"account": {"kind": "personal"}}).status_code == 422  # missing facts: not a decision
    for n in range(3):
        assert httpx.get(f"{base}/random/{n}").status_code == 404
    text = httpx.get(base + "/metrics").text
    decide_route = "/v1/policies/{policy:path}/decide"
    assert metric(text, f'policydsl_http_requests_total{{endpoint="{decide_route}",status="404"}}') == 1.0
    assert metric(text, f'policydsl_http_requests_total{{endpoint="{decide_route}",status="422"}}') == 1.0
    assert metric(text, 'policydsl_http_requests_total{endpoint="other",status="404"}') == 3.0
    assert metric(text, f'policydsl_http_request_duration_seconds_count{{endpoint="{decide_route}"}}') == 2.0
    assert "policydsl_decisions_total{" not in text  # neither request was decided
    assert "/random/" not in text and "no.such.policy" not in text
    assert metric(text, "process_resident_memory_bytes") > 0
    assert metric(text, "policydsl_book_policies") == 18.0


def test_accepted_connections_send_at_once() -> None:
    from policydsl.serve.server import bind

    listening = bind("127.0.0.1", 0)
    with listening, socket.create_connection(listening.getsockname()) as client:
        accepted, _ = listening.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_a_client_gone_before_its_body_ends_is_a_400_never_an_internal_error(served: tuple[str, Path]) -> None:
    # the body's read raised Starlette's ClientDisconnect: a traceback on standard error (stop() checks there is
    # none) and a 500 counted, which an alert on errors of the service would have paged for
    base, _ = served
    host, port = base.removeprefix("http://").split(":")
    for rest in (b"Content-Length: 100\r\n\r\n{\"facts\"",  # closed after 8 bytes of 100
                 b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"fac\r\nZZ\r\n"):  # a chunk size that is no number
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /v1/book/decide HTTP/1.1\r\nHost: x\r\n" + rest)
    route = 'policydsl_http_requests_total{endpoint="/v1/book/decide",'
    counted = until(lambda: [line for line in httpx.get(base + "/metrics").text.splitlines() if line.startswith(route)
                             and metric(line, route) > 0], "both requests counted")
    assert counted == [route + 'status="400"} 2.0']


def test_a_request_not_sent_whole_in_time_is_answered_408_or_its_connection_closed(book: Path) -> None:
    # connections sending nothing, half a head or half a body stayed open for good: as many as the process may
    # open files and the server could accept no one
    proc, base = start("--policies", str(book), "--request-timeout", "2")
    try:
        host, port = base.removeprefix("http://").split(":")
        expected = {"error": {"code": "serve.too_slow", "message": {"zh": "请求未在 2 秒内发完",
                                                                    "en": "the request did not arrive whole within 2 s"},
                              "facts": []}}
        slow = [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                b"POST /v1/book/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"facts\""]
        socks = [socket.create_connection((host, int(port)), timeout=30) for _ in slow]
        for sock, sent in zip(socks, slow):
            sock.sendall(sent)
        # a request sent in pieces within the time is answered
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
                sock.sendall(piece)
                time.sleep(0.3)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        answers = []
        for sock in socks:
            with sock:
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
                answers.append(answer)
        status, _, rest = answers[1].partition(b"\r\n")  # half a head
        assert (status, json.loads(rest.split(b"\r\n\r\n", 1)[1])) == (b"HTTP/1.1 408 Request Timeout", expected)
        # closed unanswered: nothing sent (an answer could be taken for a request's sent just then), half a body
        # (the app, reading it, counts the client gone)
        assert (answers[0], answers[2]) == (b"", b"")
        route = 'policydsl_http_requests_total{endpoint="/v1/book/decide",status="400"}'
        assert until(lambda: route in httpx.get(base + "/metrics").text, "the closed body counted")
    finally:
        stop(proc)
