"""The JSON Schemas (draft 2020-12) of the decide requests and the OpenAPI 3.1 document of the service: pure
functions of a loaded book, so the app serves them from the `Served` a request read and they follow a reload.

A request schema accepts what the service accepts (runtime/facts.py reads the values, vocabulary.py the names):
facts nested by id are its `properties` (what a form builder shows); every other spelling the service reads, a
dotted id (`account.fans`) or a fact's label (`粉丝数`, `account.Followers`), is one of its `patternProperties`,
each matching exactly that name; null states nothing; any other name is refused (`additionalProperties: false`),
as the service refuses an unknown fact. A policy's schema types the facts that policy reads and accepts the
book's other facts as they come (the service reads them as names only). JSON Schema cannot say two things the
service checks: at most 34 significant digits in a number, and two spellings of one fact that disagree."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from policydsl import i18n
from policydsl.loader import PolicySet
from policydsl.runtime.facts import MAX_SIGNIFICANT, InputSpec

STRINGS = {
    "schema.count": ("非负整数", "a non-negative whole number"),
    "schema.money": ("金额：非负数，或文本如 \"¥86000\"、\"86000元\"（至多 34 位有效数字）",
                     "an amount of money: a non-negative number, or text like \"¥86000\" or \"86000元\" "
                     "(at most 34 significant digits)"),
    "schema.number": ("数：数字，或数字文本（至多 34 位有效数字）",
                      "a number, or its digits as text (at most 34 significant digits)"),
    "schema.percent": ("百分比：文本如 \"80%\"，或 -1 到 1 之间的小数（0.8 即 80%）",
                       "a percentage: text like \"80%\", or a fraction between -1 and 1 (0.8 is 80%)"),
    "schema.bool": ("true 或 false", "true or false"),
    "schema.text": ("文本", "text"),
    "schema.date": ("日期 YYYY-MM-DD", "a date YYYY-MM-DD"),
    "schema.enum": ("取值之一：标识，或其中文或英文标签（x-labels）",
                    "one of the values: its id, or its Chinese or English label (x-labels)"),
    "schema.set": ("取值列表：每项为标识，或其中文或英文标签（x-labels）",
                   "a list of values, each its id or its Chinese or English label (x-labels)"),
    "schema.ignored": ("本政策不读取这一事实：接受而不使用", "a fact this policy does not read: accepted and ignored"),
    "schema.facts": ("事实：按标识嵌套（{\"account\": {\"fans\": 999}}），也可写点号标识或标签；null 等于未给出",
                     "the facts, nested by id ({\"account\": {\"fans\": 999}}), or by dotted id or label; "
                     "null states nothing"),
    "schema.at": ("决策日期 YYYY-MM-DD；缺省为上海时间的今天", "the date of the decision, YYYY-MM-DD; today in Shanghai "
                                                     "when absent"),
    "schema.policy": ("政策 {id}（{zh}）的决策请求", "a decide request of policy {id} ({en})"),
    "schema.book": ("整个政策库的决策请求", "a decide request of the whole book"),
    "api.title": ("policydsl 决策服务", "policydsl decision service"),
    "api.decide": ("决定政策 {id}（{zh}）", "decide policy {id} ({en})"),
    "api.schema": ("政策 {id} 的请求 JSON Schema", "the JSON Schema of policy {id}'s request"),
    "api.decide_book": ("按整个政策库决定", "decide by the whole book"),
    "api.schema_book": ("整个政策库请求的 JSON Schema", "the JSON Schema of the whole book's request"),
    "api.policies": ("列出政策", "list the policies"),
    "api.status": ("所服务政策库的版本与最近一次被拒绝的重新加载", "the served book's revision and the last refused reload"),
    "api.healthz": ("进程存活", "the process is alive"),
    "api.readyz": ("政策库已加载", "the book is loaded"),
    "api.openapi": ("本 OpenAPI 文档", "this OpenAPI document"),
    "api.metrics": ("Prometheus 文本格式的指标", "the metrics in Prometheus text"),
    "api.revision": ("作出决策的政策库版本（同 /v1/status）", "the revision of the book that decided (as /v1/status names it)"),
    "api.decision_id": ("决策日志中这一决策的编号（serve --log）", "the id of this decision's line in the decision log (serve --log)"),
    "api.ok": ("成功", "success"),
    "api.400": ("请求体不是 JSON 对象", "the body is not a JSON object"),
    "api.401": ("缺少令牌或令牌错误", "no token or a wrong token"),
    "api.404": ("没有这个政策或地址", "no such policy or endpoint"),
    "api.405": ("此地址不接受该方法", "the endpoint does not accept the method"),
    "api.413": ("请求体过大", "the body is too large"),
    "api.422": ("事实或日期有误（错误 JSON 逐一指出）", "facts or date in error (the error JSON names each)"),
}
s = i18n.register("serve", STRINGS)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
REVISION = "X-Book-Revision"
"""The response header naming the revision of the book that made a decision (as `/v1/status` names it)."""
DECISION_ID = "X-Decision-Id"
"""The response header naming a decision's line in the decision log (with `serve --log`)."""
LIMIT = 10 ** MAX_SIGNIFICANT  # numbers in facts lie within 10^±34 (runtime/facts.py)
TEXT_MAX = 4 * MAX_SIGNIFICANT  # a longer number as text is refused unread
DIGITS = r"[0-9]+(\.[0-9]+)?"
NOT_TINY = {"not": {"exclusiveMinimum": -float(f"1e-{MAX_SIGNIFICANT}"), "not": {"const": 0},
                    "exclusiveMaximum": float(f"1e-{MAX_SIGNIFICANT}")}}  # nor smaller than 10^-34, but 0
FORMS: dict[str, list[dict[str, Any]]] = {  # kind -> the JSON forms runtime/facts.py reads (null aside)
    "count": [{"type": "integer", "minimum": 0}],
    "money": [{"type": "number", "minimum": 0, "exclusiveMaximum": LIMIT, **NOT_TINY},
              {"type": "string", "maxLength": TEXT_MAX, "pattern": rf"^\s*[¥￥]?\s*(-?0+(\.0+)?|{DIGITS})\s*元?\s*$"}],
    "number": [{"type": "number", "exclusiveMinimum": -LIMIT, "exclusiveMaximum": LIMIT, **NOT_TINY},
               {"type": "string", "maxLength": TEXT_MAX, "pattern": rf"^\s*-?{DIGITS}\s*元?\s*$"}],
    "percent": [{"type": "number", "minimum": -1, "maximum": 1, **NOT_TINY},
                {"type": "string", "maxLength": TEXT_MAX, "pattern": rf"^\s*-?{DIGITS}\s*%\s*$"}],
    "bool": [{"type": "boolean"}],
    "text": [{"type": "string"}],
    "date": [{"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}],
}
IGNORED = "_ignored"  # the name of the schema of a fact the policy does not read
Ref = Callable[[str], dict[str, Any]]


def _both(key: str, sep: str = " / ", /, **args: object) -> str:
    """A text of the catalogue in both languages, Chinese first: a schema is read in either."""
    return sep.join(i18n.both(f"serve.{key}", **args).values())


# ------------------------------------------------------------------ one fact's value


def fact_schemas(book: PolicySet) -> dict[str, dict[str, Any]]:
    """Every fact of the book by id -> the schema of its value, with its labels, unit and accepted forms."""
    units: dict[str, Any] = {}
    for policy in book.compiled.values():
        units.update(policy.value_units)
    return {path: _fact(spec, units.get(path)) for path, spec in sorted(book.vocabulary.specs.items())}


def _fact(spec: InputSpec, unit: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"title": " / ".join(spec.label.values()), "x-title": dict(spec.label),
                           "description": _both(f"schema.{spec.kind}", "\n")}
    if unit is not None:
        out["x-unit"] = dict(unit)
    if spec.kind in ("enum", "set"):
        labels = {value: dict(names) for value, names in (spec.enum_values or {}).items()}
        names = list(dict.fromkeys([*labels, *(n for names in labels.values() for n in names.values())]))
        choice = {"type": "string", "enum": names, "x-labels": labels}
        return {**out, "type": ["string", "null"], "enum": [*names, None], "x-labels": labels} \
            if spec.kind == "enum" else {**out, "type": ["array", "null"], "items": choice}
    forms = FORMS[spec.kind]
    if len(forms) == 1:
        return {**out, **forms[0], "type": [forms[0]["type"], "null"]}
    return {**out, "anyOf": [*forms, {"type": "null"}]}


# ------------------------------------------------------------------ the facts of a request


def facts_schema(book: PolicySet, ref: Ref, typed: set[str] | None = None) -> dict[str, Any]:
    """The object of facts; `ref(path)` is the schema of a fact's value. With `typed`, only those facts are
    typed and shown as `properties`: the others are accepted as they come."""
    vocabulary = book.vocabulary
    resolve = vocabulary.resolve  # the service's own rule for a name: an id, or a label (alone or under its entity)

    def shown(name: str) -> bool:
        return typed is None or any(p == name or p.startswith(name + ".") for p in typed)

    def node(prefix: str) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        patterns: dict[str, Any] = {}
        ignored: list[str] = []  # the names of facts the policy does not read
        ignored_flat: list[str] = []  # those of them the service reads as names when given an object (see below)
        for key in sorted(set(_names(vocabulary.specs, prefix))):
            name = f"{prefix}.{key}" if prefix else key
            known = name in vocabulary.specs or name in vocabulary.labels
            if name in vocabulary.prefixes and not known:
                schema = node(name)
            else:
                path = resolve(name)
                if path is None:  # a label several facts share: the service refuses it as ambiguous
                    continue
                if typed is not None and path not in typed:  # the service walks into an object under a top-level
                    (ignored if known or prefix else ignored_flat).append(_escaped(key))  # `account.粉丝数`
                    continue
                schema = ref(path)
            if "." not in key and (name in vocabulary.specs or name in vocabulary.prefixes) and shown(name):
                properties[key] = schema
            else:
                patterns[f"^{_escaped(key)}$"] = schema
        if ignored:  # one pattern for all the names of facts the policy does not read: the schema stays small
            patterns[f"^({'|'.join(ignored)})$"] = ref(IGNORED)
        if ignored_flat:  # and reads what it finds in there as names of facts, which they are not
            patterns[f"^({'|'.join(ignored_flat)})$"] = {**ref(IGNORED), "not": {"type": "object", "minProperties": 1}}
        return {"type": ["object", "null"], "properties": properties, "patternProperties": patterns,
                "additionalProperties": False}

    return {**node(""), "type": "object", "description": _both("schema.facts", "\n")}


def _names(specs: dict[str, InputSpec], prefix: str) -> Iterator[str]:
    """The names under `prefix` the service may read: each fact's id parts after it (`fans`, `account.fans`),
    and each of its labels, alone or after the leading parts (`粉丝数`, `account.粉丝数`)."""
    for path, spec in specs.items():
        if prefix and not path.startswith(prefix + "."):
            continue
        rest = path[len(prefix) + 1 if prefix else 0:].split(".")
        heads = [".".join(rest[:i]) for i in range(1, len(rest) + 1)]
        yield from heads
        for label in spec.label.values():
            yield label
            yield from (f"{head}.{label}" for head in heads[:-1])


def _escaped(name: str) -> str:
    """`name` as a pattern matching it literally (ECMA-262 escapes only: re.escape's are not all valid there)."""
    return "".join("\\" + c if c in "\\^$.|?*+()[]{}/" else c for c in name)


def body_schema(facts: dict[str, Any], title: str) -> dict[str, Any]:
    """The decide request body: {"facts": {…}, "at": "YYYY-MM-DD"}, nothing else."""
    at = {**FORMS["date"][0], "type": ["string", "null"], "description": _both("schema.at", "\n")}
    return {"title": title, "type": "object", "properties": {"facts": facts, "at": at}, "required": ["facts"],
            "additionalProperties": False}


def request_schema(book: PolicySet, policy: str | None = None) -> dict[str, Any]:
    """The standalone JSON Schema of a decide request: of policy `policy` (an id), or of the whole book (None)."""
    facts = fact_schemas(book)
    if policy is None:
        typed, title = None, _both("schema.book")
    else:
        compiled = book.compiled[policy]
        typed, title = set(compiled.inputs), _both("schema.policy", id=policy, **compiled.title)
        facts = {p: f for p, f in facts.items() if p in typed}
    facts[IGNORED] = {"description": _both("schema.ignored", "\n")}
    return {"$schema": DRAFT, **body_schema(facts_schema(book, lambda p: {"$ref": f"#/$defs/{p}"}, typed), title),
            "$defs": facts}


# ------------------------------------------------------------------ the answers


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None, *, closed: bool = True) -> dict[str, Any]:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required),
            "additionalProperties": not closed}


STRING = {"type": "string"}
STRINGS_LIST = {"type": "array", "items": STRING}
TEXT = _object({lang: STRING for lang in i18n.LANGS})  # a text in both languages: every message and title
DATE = {"type": "string", "format": "date"}
DATE_OR_NULL = {**DATE, "type": ["string", "null"]}
VALUE = {"type": ["string", "integer", "boolean", "array"], "items": STRING}  # decision JSON's forms


def answer_schemas() -> dict[str, dict[str, Any]]:
    """The service's answers, as OpenAPI components: the error JSON, a decision (what `eval --json` prints), the
    whole book's (`eval --book --json`), the listing, status and probes."""
    error = _object({"code": STRING, "message": TEXT, "facts": STRINGS_LIST}, closed=False)
    reason = _object({"rule": STRING, "code": STRING, "message": TEXT,
                      "source": {"type": ["object", "null"], "additionalProperties": STRING}})
    consequence = _object({"rule": STRING, "code": STRING,
                           "kind": {"enum": ["demotion", "restriction", "suspension", "ban", "deduction"]},
                           "until": DATE_OR_NULL, "permanent": {"type": "boolean"},
                           "amount": {"type": ["string", "null"]}, "message": TEXT})
    decision = _object({"policy": STRING, "at": DATE, "outcome": {"enum": ["allow", "deny"]},
                        "values": {"type": "object", "additionalProperties": VALUE},
                        "reasons": {"type": "array", "items": reason}, "warnings": {"type": "array", "items": reason}},
                       {"unresolved": {"type": "object", "additionalProperties": STRINGS_LIST},
                        "consequences": {"type": "array", "items": consequence}})
    part = _object({"policy": STRING, "status": {"enum": ["decided", "not_applicable", "not_in_force", "error"]}},
                   {"decision": {"$ref": "#/components/schemas/Decision"}, "error": error,
                    "period": _object({"from": DATE_OR_NULL, "until": DATE_OR_NULL})})
    summary = _object({"outcome": {"enum": ["allow", "deny", "undecided"]}, "denied": STRINGS_LIST,
                       "allowed": STRINGS_LIST, "warned": STRINGS_LIST, "not_applicable": STRINGS_LIST,
                       "not_in_force": STRINGS_LIST, "errors": STRINGS_LIST,
                       "consequences": {"type": "array", "items": {**consequence, "required": [
                           "policy", *consequence["required"]], "properties": {
                           "policy": STRING, **consequence["properties"]}}},
                       "values": {"type": "object", "additionalProperties": {
                           "type": "object", "additionalProperties": VALUE}}})
    conflict = _object({"overlap": STRING, "label": TEXT, "policies": STRINGS_LIST,
                        "outcomes": {"type": "object", "additionalProperties": {"enum": ["allow", "deny"]}},
                        "resolution": {"enum": ["prevails", "known", "none"]}},
                       {"prevails": STRING, "assumptions": STRINGS_LIST})
    book = _object({"at": DATE, "outcome": {"enum": ["allow", "deny", "undecided"]}, "summary": summary,
                    "policies": {"type": "array", "items": part}},
                   {"conflicts": {"type": "array", "items": conflict}})
    listing = _object({"id": STRING, "title": TEXT, "inputs": STRINGS_LIST,
                       "effective": _object({"from": DATE_OR_NULL, "to": DATE_OR_NULL})})
    refused = {**error, "properties": {**error["properties"], "at": {"type": "string", "format": "date-time"},
                                       "revision": STRING}}
    return {
        "Error": _object({"error": error}), "Decision": decision, "BookDecision": book,
        "Policies": _object({"revision": STRING, "policies": {"type": "array", "items": listing}}),
        "Status": _object({"revision": STRING, "loaded_at": {"type": "string", "format": "date-time"},
                           "policies": {"type": "integer", "minimum": 0}, "policies_dir": STRING,
                           "last_refused": {"anyOf": [refused, {"type": "null"}]}}),
        "Health": _object({"status": {"const": "ok"}}),
        "Ready": _object({"status": {"const": "ready"}, "revision": STRING}),
        "JSONSchema": {"type": "object"},
    }


# ------------------------------------------------------------------ the OpenAPI document


def openapi(book: PolicySet, revision: str, *, secured: bool, logged: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service over `book`: one decide and one schema path per policy (each
    policy's request has its own schema), the whole book's, and the listing, status and probes; with `secured`,
    the decide endpoints need the bearer token; with `logged`, their decisions and 422s carry DECISION_ID."""
    components = {f"fact.{path}": schema for path, schema in fact_schemas(book).items()}
    components[f"fact.{IGNORED}"] = {"description": _both("schema.ignored", "\n")}
    components.update(answer_schemas())

    def ref(path: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/fact.{path}"}

    logged_header = {DECISION_ID: {"description": _both("api.decision_id"), "required": True,
                                   "schema": {"type": "string", "format": "uuid"}}} if logged else {}
    revision_header = {REVISION: {"description": _both("api.revision"), "required": True,
                                  "schema": {"type": "string"}}, **logged_header}

    def decide(name: str, summary: str, answer: str, typed: set[str] | None) -> dict[str, Any]:
        components[f"request.{name}"] = body_schema(facts_schema(book, ref, typed), summary)
        errors = ["400", *(["401"] if secured else []), "405", "413", "422"]
        responses = {"200": {**_response("api.ok", answer), "headers": revision_header},
                     **{code: _error(code) for code in errors}}
        if logged:
            responses["422"] = {**_error("422"), "headers": logged_header}
        operation = {"summary": summary, "operationId": f"decide.{name}",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": f"#/components/schemas/request.{name}"}}}},
                     "responses": responses}
        return {"post": {**operation, "security": [{"bearer": []}]} if secured else operation}

    paths: dict[str, Any] = {}
    for pid, policy in sorted(book.compiled.items()):
        summary = _both("api.decide", id=pid, **policy.title)
        paths[f"/v1/policies/{pid}/decide"] = decide(pid, summary, "Decision", set(policy.inputs))
        paths[f"/v1/policies/{pid}/schema"] = _get("api.schema", "JSONSchema", f"schema.{pid}", id=pid)
    paths["/v1/book/decide"] = decide("book", _both("api.decide_book"), "BookDecision", None)
    paths["/v1/book/schema"] = _get("api.schema_book", "JSONSchema", "schema.book")
    for path, key, answer in (("/v1/policies", "policies", "Policies"), ("/v1/status", "status", "Status"),
                              ("/healthz", "healthz", "Health"), ("/readyz", "readyz", "Ready"),
                              ("/openapi.json", "openapi", "JSONSchema")):
        paths[path] = _get(f"api.{key}", answer, key)
    paths["/metrics"] = {"get": {"summary": _both("api.metrics"), "operationId": "metrics", "responses": {
        "200": {"description": _both("api.ok"), "content": {"text/plain": {"schema": {"type": "string"}}}},
        "405": _error("405")}}}
    return {"openapi": "3.1.0", "info": {"title": _both("api.title"), "version": revision},
            "jsonSchemaDialect": DRAFT, "paths": paths,
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}


def _get(key: str, answer: str, operation: str, **args: object) -> dict[str, Any]:
    summary = _both(key, **args)
    return {"get": {"summary": summary, "operationId": operation,
                    "responses": {"200": _response("api.ok", answer), "405": _error("405")}}}


def _response(key: str, schema: str) -> dict[str, Any]:
    return {"description": _both(key), "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _error(code: str) -> dict[str, Any]:
    return _response(f"api.{code}", "Error")
