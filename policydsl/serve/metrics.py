"""`GET /metrics`: what an SRE scrapes, in Prometheus' text format (prometheus_client, one registry per app).

- `policydsl_decisions_total{policy, outcome}`: decisions made, by policy (`book` for the whole book) and outcome;
  a request refused before deciding is not a decision (see the request counter);
- `policydsl_http_requests_total{endpoint, status}` and the histogram `policydsl_http_request_duration_seconds
  {endpoint}`: every request, by route template (never the raw path: a caller cannot grow the label set);
- `policydsl_reloads_total{result}`: hot reloads swapped in (`ok`) and refused (`refused`);
- `policydsl_book_info{revision}` (1), `policydsl_book_loaded_timestamp_seconds`, `policydsl_book_policies`: the
  book being served;
- with `--log`, `policydsl_decision_log_lines_total{result}`: lines written, and failed (alert on it: a full disk);
- the process' own (resident memory, CPU seconds, open files) and Python's (garbage collections)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from prometheus_client import (CollectorRegistry, Counter, GCCollector, Histogram, PlatformCollector,
                               ProcessCollector, generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from policydsl import i18n
from policydsl.serve.book import Library

if TYPE_CHECKING:
    from policydsl.serve.log import DecisionLog

STRINGS = {
    "metric.decisions": ("按政策（book：整个政策库）与结果计的决策数", "Decisions made, by policy (book: the whole book) and outcome"),
    "metric.requests": ("按接口（路由模板）与状态码计的 HTTP 请求数", "HTTP requests, by endpoint (route template) and status"),
    "metric.latency": ("按接口计的 HTTP 请求耗时", "HTTP request latency, by endpoint"),
    "metric.reloads": ("政策库热加载次数：ok（已换用）或 refused（有错误，被拒绝）",
                       "Hot reloads of the book: ok (swapped in) or refused (broken)"),
    "metric.book": ("正在服务的政策库（值为 1），按版本", "The book being served (1), by revision"),
    "metric.loaded": ("正在服务的政策库加载的时间", "When the book being served was loaded"),
    "metric.policies": ("正在服务的政策库中的政策数", "Policies in the book being served"),
    "metric.log_lines": ("决策日志的行数：written（已写入）或 failed（写入失败）",
                         "Lines of the decision log: written or failed (a failed write, the decision answered all the same)"),
}
i18n.register("serve", STRINGS)


def _help(key: str) -> str:
    """A metric's HELP text, Chinese and English (a scrape is read in either)."""
    return " / ".join(i18n.both(f"serve.{key}").values())

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Request latency buckets, in seconds: one decision takes well under a millisecond, the whole book a few."""

ASGIApp = Callable[..., Any]


class Metrics:
    """The service's counters, in a registry of its own (two apps in one process do not share counts)."""

    def __init__(self, library: Library, log: DecisionLog | None = None) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.registry.register(_BookCollector(library, log))
        self.decisions = Counter("policydsl_decisions", _help("metric.decisions"), ["policy", "outcome"],
                                 registry=self.registry)
        self.requests = Counter("policydsl_http_requests", _help("metric.requests"), ["endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("policydsl_http_request_duration_seconds", _help("metric.latency"), ["endpoint"],
                                 buckets=BUCKETS, registry=self.registry)
        self.reloads = Counter("policydsl_reloads", _help("metric.reloads"), ["result"], registry=self.registry)
        for result in ("ok", "refused"):
            self.reloads.labels(result=result)  # both series exist from the start, at 0

    def reloaded(self, ok: bool) -> None:
        self.reloads.labels(result="ok" if ok else "refused").inc()

    def decided(self, policy: str, outcome: str) -> None:
        self.decisions.labels(policy=policy, outcome=outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Counted:
    """An ASGI middleware counting every HTTP request and timing it to its last byte, by the route template the
    router matched (Starlette's router records it in the request's scope as `route`, its method aside), else
    `other`: a bounded label set, and no second matching of the path."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "other"
            self.metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)
            self.metrics.requests.labels(endpoint=endpoint, status=str(status)).inc()


class _BookCollector(Collector):
    """The book being served and the decision log's counts, read at scrape time (a reload shows at the next
    scrape; the log counts its lines itself, for /v1/status too)."""

    def __init__(self, library: Library, log: DecisionLog | None) -> None:
        self.library, self.log = library, log

    def collect(self) -> Iterator[Metric]:
        served = self.library.current
        info = GaugeMetricFamily("policydsl_book_info", _help("metric.book"), labels=["revision"])
        info.add_metric([served.revision], 1)
        yield info
        yield GaugeMetricFamily("policydsl_book_loaded_timestamp_seconds", _help("metric.loaded"),
                                value=served.loaded_at.timestamp())
        yield GaugeMetricFamily("policydsl_book_policies", _help("metric.policies"), value=len(served.book.compiled))
        if self.log is not None:
            lines = CounterMetricFamily("policydsl_decision_log_lines", _help("metric.log_lines"), labels=["result"])
            lines.add_metric(["written"], self.log.written)
            lines.add_metric(["failed"], self.log.failed)
            yield lines
