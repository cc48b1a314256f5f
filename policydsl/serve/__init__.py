"""The decision service, `policydsl serve` (the [serve] extra): the only package that imports starlette, uvicorn,
watchfiles and prometheus_client.

- `app`: the Starlette application, its endpoints and their errors (the command line's error JSON);
- `book`: the book being served and its hot reload (a clean edit swapped in whole, a broken one refused);
- `metrics`: `/metrics` in Prometheus' text format;
- `schema`: the JSON Schemas of the decide requests and the OpenAPI document, pure functions of the book;
- `handbook`: the rendered handbook under `/docs/` (`--docs`), for its "try it" panel;
- `log`: the decision log (`--log`, `--mask`, rotation), and `replay`: `policydsl replay`, which needs none of
  the extra's packages;
- `server`: the token, the listening socket and uvicorn."""
