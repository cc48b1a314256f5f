"""`GET /metrics`: what an SRE scrapes, in Prometheus' text format (prometheus_client, one registry per app).

- `policydsl_decisions_total{policy, outcome}`: decisions made, by policy (`book` for the whole book) and outcome;
  a request refused before deciding is not a decision (see the request counter);
- `policydsl_http_requests_total{endpoint, status}` and the histogram `policydsl_http_request_duration_seconds
  {endpoint}`: every request, by route template (never the raw path: a caller cannot grow the label set);
- `policydsl_reloads_total{result}`: hot reloads swapped in (`ok`) and refused (`refused`);
- `policydsl_book_info{revision}` (1), `policydsl_book_loaded_timestamp_seconds`, `policydsl_book_policies`: the
  book being served;
- the process' own (resident memory, CPU seconds, open files) and Python's (garbage collections)."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from prometheus_client import (CollectorRegistry, Counter, GCCollector, Histogram, PlatformCollector,
                               ProcessCollector, generate_latest)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from policydsl.serve.book import Library

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Request latency buckets, in seconds: one decision takes well under a millisecond, the whole book a few."""

ASGIApp = Callable[..., Any]


class Metrics:
    """The service's counters, in a registry of its own (two apps in one process do not share counts)."""

    def __init__(self, library: Library) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.registry.register(_BookCollector(library))
        self.decisions = Counter("policydsl_decisions", "Decisions made, by policy (book: the whole book) and outcome",
                                 ["policy", "outcome"], registry=self.registry)
        self.requests = Counter("policydsl_http_requests", "HTTP requests, by endpoint (route template) and status",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("policydsl_http_request_duration_seconds", "HTTP request latency, by endpoint",
                                 ["endpoint"], buckets=BUCKETS, registry=self.registry)
        self.reloads = Counter("policydsl_reloads", "Hot reloads of the book: ok (swapped in) or refused (broken)",
                               ["result"], registry=self.registry)
        for result in ("ok", "refused"):
            self.reloads.labels(result=result)  # both series exist from the start, at 0

    def reloaded(self, ok: bool) -> None:
        self.reloads.labels(result="ok" if ok else "refused").inc()

    def decided(self, policy: str, outcome: str) -> None:
        self.decisions.labels(policy=policy, outcome=outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Counted:
    """An ASGI middleware counting every HTTP request and timing it to its last byte, by `endpoint_of(scope)`."""

    def __init__(self, app: ASGIApp, metrics: Metrics, endpoint_of: Callable[[dict[str, Any]], str]) -> None:
        self.app, self.metrics, self.endpoint_of = app, metrics, endpoint_of

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
            endpoint = self.endpoint_of(scope)
            self.metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)
            self.metrics.requests.labels(endpoint=endpoint, status=str(status)).inc()


class _BookCollector(Collector):
    """The book being served, read at scrape time (so a reload shows at the next scrape)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def collect(self) -> Iterator[Metric]:
        served = self.library.current
        info = GaugeMetricFamily("policydsl_book_info", "The book being served (1), by revision", labels=["revision"])
        info.add_metric([served.revision], 1)
        yield info
        yield GaugeMetricFamily("policydsl_book_loaded_timestamp_seconds", "When the book being served was loaded",
                                value=served.loaded_at.timestamp())
        yield GaugeMetricFamily("policydsl_book_policies", "Policies in the book being served",
                                value=len(served.book.compiled))
