"""The decision service behind `policydsl serve` (the [serve] extra): a Starlette app over one loaded book.

It answers what the command line answers, as data: a policy's decision is exactly what `eval --json` prints,
the whole book's what `eval --book --json` prints, and every failure is `PolicyDslError.to_dict()` with an
HTTP status (never a 500 for a caller's input)."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import signal
from typing import Any, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.middleware import Middleware
from starlette.routing import Route

from policydsl import i18n
from policydsl.errors import PolicyDslError, clip
from policydsl.serve import handbook
from policydsl.serve.book import Library, Served, watch
from policydsl.serve.log import DecisionLog, policy_id
from policydsl.serve.metrics import CONTENT_TYPE, Counted, Metrics
from policydsl.serve.schema import DECISION_ID, REVISION, openapi, request_schema

STRINGS = {
    "E.body_json": ("请求体不是有效的 JSON：{reason}", "the request body is not valid JSON: {reason}"),
    "E.body_object": ("请求体必须是 JSON 对象 {\"facts\": {…}, \"at\": \"YYYY-MM-DD\"}",
                      "the request body must be a JSON object {\"facts\": {…}, \"at\": \"YYYY-MM-DD\"}"),
    "E.body_keys": ("请求体含未知字段：{keys}（只接受 facts 与 at）",
                    "the request body has unknown fields: {keys} (only facts and at are accepted)"),
    "E.no_facts": ("请求体缺少 facts 字段", "the request body has no facts field"),
    "E.too_large": ("请求体超过 {limit} 字节", "the request body is larger than {limit} bytes"),
    "E.incomplete": ("请求体未发完连接就关闭了", "the connection closed before the whole request body arrived"),
    "E.unauthorized": ("需要 Authorization: Bearer <令牌> 请求头，且令牌正确",
                       "an Authorization: Bearer <token> header with the right token is required"),
    "E.not_found": ("没有这个地址：{path}", "no such endpoint: {path}"),
    "E.method": ("{path} 不接受 {method} 请求", "{path} does not accept {method}"),
    "E.internal": ("服务内部错误（这是我们的缺陷，请报告）", "internal error of the service (our bug, please report it)"),
}
s = i18n.register("serve", STRINGS)

MAX_BODY_BYTES = 1024 * 1024
"""A request body larger than this is refused (413): one record's facts are kilobytes."""

STATUS = {"unknown_policy": 404, "serve.body_json": 400, "serve.body_object": 400, "serve.too_large": 413,
          "serve.incomplete": 400,
          "serve.unauthorized": 401, "serve.not_found": 404, "serve.method": 405, "serve.internal": 500}
"""An error code -> its HTTP status; any other error of the caller's input (facts, types, dates) is 422."""


def create_app(library: Library, parse_date: Callable[[str], dt.date], token: str | None = None, *,
               watching: bool = True, docs: str | None = None, log: DecisionLog | None = None) -> Starlette:
    """The service over the book `library` serves. `parse_date` is the commands' rule for `--at` (they hand
    it in: one rule for the command line and the service); with `token`, the decide endpoints need
    `Bearer <token>`; with `watching`, the policies folder is watched and reloaded while the app runs; with
    `docs`, the handbook rendered there is served under /docs/ (serve/handbook.py); with `log`, every decision
    is logged (serve/log.py)."""
    from policydsl.runtime.calendar import today_in_shanghai

    metrics = Metrics(library, log)
    library.on_reload = metrics.reloaded

    async def decide_policy(request: Request) -> Response:
        served = library.current  # one book for the whole request, whatever a reload swaps in meanwhile
        facts, at = await _request(request, token, parse_date, today_in_shanghai)
        name = request.path_params["policy"]
        return _decided(log, served, name, facts, at, lambda: served.book.evaluate(name, facts, at), metrics.decided)

    async def decide_book(request: Request) -> Response:
        served = library.current
        facts, at = await _request(request, token, parse_date, today_in_shanghai)
        # errors in parts are data, as eval prints them
        return _decided(log, served, None, facts, at, lambda: served.book.evaluate_all(facts, at), metrics.decided)

    async def policies(request: Request) -> Response:
        served = library.current
        listed = [_listing(policy) for _, policy in sorted(served.book.compiled.items())]
        return _json({"revision": served.revision, "policies": listed})

    async def schema(request: Request) -> Response:  # one policy's (by id or title), or the whole book's
        served = library.current
        name = request.path_params.get("policy")
        return _json(request_schema(served.book, None if name is None else served.book.find(name).id))

    documents: dict[str, bytes] = {}  # the OpenAPI document of the book being served (~1 MB, built once per book)

    async def openapi_json(request: Request) -> Response:
        served = library.current
        if served.revision not in documents:
            document = openapi(served.book, served.revision, secured=token is not None, logged=log is not None)
            documents.clear()
            documents[served.revision] = json.dumps(document, ensure_ascii=False).encode()
        return Response(documents[served.revision], media_type="application/json")

    async def status(request: Request) -> Response:
        return _json({**library.status(), **({"log": log.status()} if log is not None else {})})

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:  # the book is loaded before the server listens
        return _json({"status": "ready", "revision": library.current.revision})

    async def scrape(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """While the app runs: SIGHUP reloads the book (also with --no-watch) and opens the decision log again (after
        logrotate moved it), and the folder is watched."""
        loop, pending = asyncio.get_running_loop(), set()

        def hangup() -> None:
            if log is not None:
                log.reopen()
            task = loop.create_task(library.reload())
            pending.add(task)
            task.add_done_callback(pending.discard)
        loop.add_signal_handler(signal.SIGHUP, hangup)
        stop = asyncio.Event()
        watcher = loop.create_task(watch(library, stop)) if watching else None
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            stop.set()
            if watcher is not None:
                await watcher

    routes = [Route("/v1/policies/{policy:path}/decide", _guard(decide_policy), methods=["POST"]),
              Route("/v1/book/decide", _guard(decide_book), methods=["POST"]),
              Route("/v1/policies/{policy:path}/schema", _guard(schema), methods=["GET"]),
              Route("/v1/book/schema", schema, methods=["GET"]), Route("/openapi.json", openapi_json, methods=["GET"]),
              Route("/v1/policies", policies, methods=["GET"]), Route("/v1/status", status, methods=["GET"]),
              Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"]),
              Route("/metrics", scrape, methods=["GET"])]
    if docs is not None:
        routes += handbook.routes(docs)

    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(Counted, metrics)],
                     exception_handlers={HTTPException: _http_error, Exception: _internal})


def _listing(policy: Any) -> dict[str, Any]:
    """What `/v1/policies` says of one compiled policy: id, titles, effective period and input facts."""
    start, end = (day and day.isoformat() for day in (policy.start, policy.end))  # None: open on that side
    return {"id": policy.id, "title": dict(policy.title), "effective": {"from": start, "to": end},
            "inputs": sorted(policy.inputs)}


def _decided(log: DecisionLog | None, served: Served, policy: str | None, facts: dict[str, Any], at: dt.date,
             decide: Callable[[], Any], count: Callable[[str, str], None]) -> Response:
    """A decision (`policy` None: the whole book's), counted, or the error deciding raised, as the response; with a
    log, logged and its id sent back (X-Decision-Id)."""
    result: Any
    try:
        result = decide()
        ident = None if policy is None else result.policy
        count(ident or "book", result.outcome)
        response = _json(result.to_dict(), headers={REVISION: served.revision})
    except PolicyDslError as exc:
        result, ident = exc, None if policy is None else policy_id(served.book, policy)
        response = _error(exc)
    if log is not None:
        response.headers[DECISION_ID] = log.record(served.revision, ident, at, facts, response.status_code,
                                                   bytes(response.body), served.book, result)
    return response


def _guard(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A decide endpoint whose caller errors become their status and the command line's error JSON."""
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except PolicyDslError as exc:
            return _error(exc)
    return guarded


async def _request(request: Request, token: str | None, parse_date: Callable[[str], dt.date],
                   today: Callable[[], dt.date]) -> tuple[dict[str, Any], dt.date]:
    """The facts and date of a decide request, checked: the token, the body's size, JSON and shape."""
    from policydsl.runtime.facts import loads

    if token is not None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            raise PolicyDslError("serve.E.unauthorized")
    text = await _body(request)
    try:
        body = loads(text)  # exact numbers (Decimal) and the depth limit, as `eval` reads a facts file
    except PolicyDslError as exc:
        if exc.code == "facts_object":
            raise PolicyDslError("serve.E.body_object") from None
        if exc.code == "facts_json":
            raise PolicyDslError("serve.E.body_json", reason=exc.args_map["reason"]) from None
        raise
    unknown = sorted(set(body) - {"facts", "at"})
    if unknown:
        raise PolicyDslError("serve.E.body_keys", keys=clip(", ".join(unknown)))
    if "facts" not in body:
        raise PolicyDslError("serve.E.no_facts")
    if not isinstance(body["facts"], dict):
        raise PolicyDslError("E.facts_object")
    at = body.get("at")
    if at is None:
        return body["facts"], today()
    if not isinstance(at, str):
        raise PolicyDslError("E.bad_date", value=clip(json.dumps(at, default=str)))
    return body["facts"], parse_date(clip(at))


async def _body(request: Request) -> str:
    """The body as text, read in chunks and refused once past MAX_BODY_BYTES (Content-Length is not trusted), or
    when the client goes before sending it all (an answer no one reads, counted as a 400, not our error)."""
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise PolicyDslError("serve.E.too_large", limit=MAX_BODY_BYTES)
            chunks.append(chunk)
    except ClientDisconnect:
        raise PolicyDslError("serve.E.incomplete") from None
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyDslError("serve.E.body_json", reason=str(exc)) from None


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status, headers, media_type="application/json")


def _error(exc: PolicyDslError) -> Response:
    status = STATUS.get(exc.code, 422)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json(exc.to_dict(), status, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405, as the service's error JSON."""
    code = getattr(exc, "status_code", 404)
    path = clip(request.url.path)
    error = PolicyDslError("serve.E.method", path=path, method=clip(request.method)) if code == 405 else \
        PolicyDslError("serve.E.not_found", path=path)
    response = _error(error)
    if code == 405:
        response.headers["Allow"] = (getattr(exc, "headers", None) or {}).get("Allow", "")
    return response


async def _internal(request: Request, exc: Exception) -> Response:
    """Our own bug: a 500 with the error JSON, never a traceback to the caller."""
    return _error(PolicyDslError("serve.E.internal"))
