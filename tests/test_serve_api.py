"""The decision service describes itself: each decide request's JSON Schema (GET /v1/policies/{id}/schema,
/v1/book/schema) and the OpenAPI document of every endpoint (GET /openapi.json), fetched from the real server and
checked against what the real server accepts and refuses; then schemathesis drives the real server from the
document it serves."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate as validate_openapi
from schemathesis import GenerationMode, checks

from conftest import POLICIES, ROOT
from test_serve import FACTS, POOR, base, client, start, stop  # noqa: F401 (base, client: the server fixtures)
from test_serve_ops import until

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]
EXAMPLES = 3
"""Examples per operation: the whole file stays under a minute on a shared machine."""


@pytest.fixture(scope="module")
def schemas(client: httpx.Client) -> dict[str, jsonschema.protocols.Validator]:
    """The served request schemas, each a validator that checks formats (dates) too."""
    def validator(path: str) -> Any:
        response = client.get(path)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
        schema = response.json()
        jsonschema.Draft202012Validator.check_schema(schema)
        return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return {name: validator(f"/v1/policies/{name}/schema") for name in (
        "cart.opening", "shop.deposit", "listing.approval", "settlement", "product.sharing", "deposit.refund",
        "official_account.own_store_only", "alliance.eligibility", "identity.verification")} | {
        "book": validator("/v1/book/schema")}


def _decide(client: httpx.Client, name: str, body: Any) -> httpx.Response:
    return client.post("/v1/book/decide" if name == "book" else f"/v1/policies/{name}/decide", json=body)


SPELLED = {"account.fans": 999, "账号类型": "个人账号", "account": {"Real-name verified": True},  # dotted, labels
           "product": {"经营特殊类目（如美妆、食品）": False}}
ACCEPTED = [  # (schema, body): each answered 200 by the service (the bodies of tests/test_serve.py, and spellings)
    *((policy, {"facts": FACTS, "at": at}) for policy, at in (
        ("cart.opening", "2023-12-20"), ("shop.deposit", "2023-12-20"), ("listing.approval", "2023-12-20"),
        ("settlement", "2023-12-20"), ("product.sharing", "2024-03-01"), ("deposit.refund", "2023-12-20"),
        ("official_account.own_store_only", "2023-12-20"), ("alliance.eligibility", "2023-12-20"),
        ("identity.verification", "2023-12-20"))),
    ("cart.opening", {"facts": POOR, "at": "2023-12-20"}), ("cart.opening", {"facts": POOR, "at": "2023-01-01"}),
    ("cart.opening", {"facts": SPELLED, "at": "2023-12-20"}), ("cart.opening", {"facts": POOR, "at": None}),
    ("cart.opening", {"facts": {**POOR, "shop": {"gmv_30d": "plenty"}}, "at": "2023-12-20"}),  # not a fact it reads
    ("cart.opening", {"facts": {**POOR, "shop": None, "account": {**POOR["account"], "blue_v": None}},
                      "at": "2023-12-20"}),  # null states nothing
    ("cart.opening", {"facts": {**POOR, "shop.Deposit paid": {}, "account.账号ID": "dy1"}, "at": "2023-12-20"}),
    ("alliance.eligibility", {"facts": {**FACTS, "shop": {**FACTS["shop"], "gmv_30d": 1e-34}}, "at": "2023-12-20"}),
    ("alliance.eligibility", {"facts": {**FACTS, "shop": {**FACTS["shop"], "gmv_30d": "86000元", "score": "4.8",
                                                          "good_review_rate": 0.97}}, "at": "2023-12-20"}),
    ("book", {"facts": FACTS, "at": "2023-12-20"}), ("book", {"facts": FACTS, "at": "2022-06-01"}),
    ("book", {"facts": POOR, "at": "2023-12-20"}), ("book", {"facts": SPELLED, "at": "2023-12-20"}),
]


@pytest.mark.parametrize("name, body", ACCEPTED)
def test_each_schema_accepts_what_the_service_decides(client: httpx.Client, schemas: dict[str, Any], name: str,
                                                      body: Any) -> None:
    assert _decide(client, name, body).status_code == 200
    assert list(schemas[name].iter_errors(body)) == []


ACCOUNT = {"kind": "personal", "fans": 999, "real_name": True}
REFUSED = [  # (schema, body, the code of the service's 422, where the schema refuses it and by which keywords)
    ("cart.opening", {"facts": {"account": {"kind": "personal", "fanz": 5}}}, "unknown_facts",
     ("facts", "account"), "additionalProperties"),
    ("cart.opening", {"facts": {"acount": ACCOUNT}}, "unknown_facts", ("facts",), "additionalProperties"),
    ("cart.opening", {"facts": {"account": {**ACCOUNT, "fans": "many"}}}, "bad_facts",
     ("facts", "account", "fans"), "type"),
    ("cart.opening", {"facts": {"account": {**ACCOUNT, "fans": -1}}}, "bad_facts", ("facts", "account", "fans"),
     "minimum"),
    ("cart.opening", {"facts": {"account": {**ACCOUNT, "fans": True}}}, "bad_facts", ("facts", "account", "fans"),
     "type"),
    ("cart.opening", {"facts": {"account": {**ACCOUNT, "kind": "alien"}}}, "bad_facts",
     ("facts", "account", "kind"), "enum"),
    ("cart.opening", {"facts": {"account": 5}}, "unknown_facts", ("facts", "account"), "type"),
    ("cart.opening", {"facts": [1]}, "facts_object", ("facts",), "type"),
    ("cart.opening", {"facts": {}, "when": 1}, "serve.body_keys", (), "additionalProperties"),
    ("cart.opening", {"at": "2023-12-20"}, "serve.no_facts", (), "required"),
    ("cart.opening", {"facts": {}, "at": 20231220}, "bad_date", ("at",), "type"),
    ("cart.opening", {"facts": {}, "at": "2023-02-30"}, "bad_date", ("at",), "format"),
    ("cart.opening", {"facts": {}, "at": "20231220"}, "bad_date", ("at",), "format+pattern"),
    ("alliance.eligibility", {"facts": {"shop": {"gmv_30d": "-5"}}}, "bad_facts", ("facts", "shop", "gmv_30d"),
     "anyOf"),
    ("alliance.eligibility", {"facts": {"shop": {"gmv_30d": "$5"}}}, "bad_facts", ("facts", "shop", "gmv_30d"),
     "anyOf"),
    ("alliance.eligibility", {"facts": {"shop": {"good_review_rate": 80}}}, "bad_facts",
     ("facts", "shop", "good_review_rate"), "anyOf"),
    ("alliance.eligibility", {"facts": {"shop": {"score": "¥4.8"}}}, "bad_facts", ("facts", "shop", "score"),
     "anyOf"),
    ("alliance.eligibility", {"facts": {"shop": {"evasion_penalty_date": "2023-W51-3"}}}, "bad_facts",
     ("facts", "shop", "evasion_penalty_date"), "format+pattern"),
    ("alliance.eligibility", {"facts": {"shop": {"evasion_penalty_date": "２０２３-１２-２０"}}}, "bad_facts",
     ("facts", "shop", "evasion_penalty_date"), "format+pattern"),
    ("alliance.eligibility", {"facts": {"shop": {"evasion_penalty_date": "2023-12-20T00:00"}}}, "bad_facts",
     ("facts", "shop", "evasion_penalty_date"), "format+pattern"),
    ("alliance.eligibility", {"facts": {"shop": {"gmv_30d": "9e999999"}}}, "bad_facts", ("facts", "shop", "gmv_30d"),
     "anyOf"),
    ("alliance.eligibility", {"facts": {"shop": {"gmv_30d": -0.01}}}, "bad_facts", ("facts", "shop", "gmv_30d"),
     "anyOf"),
    ("identity.verification", {"facts": {"identity": {"payment_bindings": ["own_bank_card", "gold"]}}}, "bad_facts",
     ("facts", "identity", "payment_bindings", 1), "enum"),
    ("book", {"facts": {"account": {"fanz": 5}}}, "unknown_facts", ("facts", "account"), "additionalProperties"),
    # found by schemathesis: an amount below 10^-34 (but 0) is beyond the precision; and the service reads an object
    # under a top-level label spelled after its entity as more names, even of a fact the policy does not read
    ("alliance.eligibility", {"facts": {"shop": {"gmv_30d": 1e-40}}}, "bad_facts", ("facts", "shop", "gmv_30d"),
     "anyOf"),
    ("cart.opening", {"facts": {"shop.Deposit paid": {"x": 1}}}, "unknown_facts", ("facts", "shop.Deposit paid"),
     "not"),
]


@pytest.mark.parametrize("name, body, code, where, keyword", REFUSED)
def test_each_schema_refuses_what_the_service_refuses(client: httpx.Client, schemas: dict[str, Any], name: str,
                                                      body: Any, code: str, where: tuple[Any, ...],
                                                      keyword: str) -> None:
    response = _decide(client, name, {"at": "2023-12-20", **body})
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    errors = [(tuple(e.absolute_path), e.validator) for e in schemas[name].iter_errors({"at": "2023-12-20", **body})]
    assert sorted(errors) == [(where, k) for k in keyword.split("+")]


def test_the_book_schema_types_the_facts_the_book_decision_reports_in_parts(client: httpx.Client,
                                                                           schemas: dict[str, Any]) -> None:
    body = {"facts": {**FACTS, "shop": {**FACTS["shop"], "gmv_30d": "plenty"}}, "at": "2023-12-20"}
    response = _decide(client, "book", body)
    assert (response.status_code, response.json()["summary"]["errors"]) == (200, ["alliance.eligibility"])
    assert [(tuple(e.absolute_path), e.validator) for e in schemas["book"].iter_errors(body)] == [
        (("facts", "shop", "gmv_30d"), "anyOf")]


def test_a_fact_schema_carries_labels_units_and_choices(client: httpx.Client) -> None:
    schema = client.get("/v1/policies/cart.opening/schema").json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["facts"] and schema["additionalProperties"] is False
    fans, kind = schema["$defs"]["account.fans"], schema["$defs"]["account.kind"]
    assert (fans["title"], fans["type"], fans["minimum"], fans["x-unit"]) == (
        "粉丝数 / Followers", ["integer", "null"], 0, {"zh": "人", "en": "followers"})
    assert kind["x-labels"]["personal"] == {"zh": "个人账号", "en": "Personal account"}
    assert kind["enum"] == ["personal", "enterprise", "individual_business", "个人账号", "Personal account", "企业号",
                            "Enterprise account", "个体工商户", "Individual business", None]
    account = schema["properties"]["facts"]["properties"]["account"]
    assert sorted(account["properties"]) == ["business_licence", "corporate_verified", "fans", "industry_licence",
                                             "kind", "legal_person_face_verified", "phone_bound", "public_videos",
                                             "real_name"]
    assert account["patternProperties"]["^粉丝数$"] == {"$ref": "#/$defs/account.fans"}
    assert schema["properties"]["facts"]["patternProperties"]["^account\\.fans$"] == {"$ref": "#/$defs/account.fans"}
    money = client.get("/v1/book/schema").json()["$defs"]["shop.gmv_30d"]
    assert money["description"] == ("金额：非负数，或文本如 \"¥86000\"、\"86000元\"（至多 34 位有效数字）\nan amount of "
                                    "money: a non-negative number, or text like \"¥86000\" or \"86000元\" (at most 34 "
                                    "significant digits)")


def test_the_readme_example_is_the_served_schema(client: httpx.Client) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("""jq '."$defs"."account.fans"'\n""", 1)[1].split("\nschemathesis", 1)[0]
    documented = json.loads(" ".join(line.removeprefix("#").strip() for line in block.splitlines()))
    assert documented == client.get("/v1/policies/cart.opening/schema").json()["$defs"]["account.fans"]


def test_a_schema_by_title_and_an_unknown_policy(client: httpx.Client) -> None:
    by_title = client.get("/v1/policies/抖音购物车开通资格/schema")
    assert by_title.json() == client.get("/v1/policies/cart.opening/schema").json()
    missing = client.get("/v1/policies/no.such_policy/schema")
    decided = client.post("/v1/policies/no.such_policy/decide", json={"facts": {}})
    assert (missing.status_code, missing.json()) == (404, decided.json())
    assert missing.json()["error"]["code"] == "unknown_policy"


def test_the_openapi_document_is_valid_and_lists_every_endpoint(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    validate_openapi(document)
    ids = [p["id"] for p in client.get("/v1/policies").json()["policies"]]
    assert sorted(document["paths"]) == sorted(
        [f"/v1/policies/{pid}/{end}" for pid in ids for end in ("decide", "schema")] +
        ["/v1/book/decide", "/v1/book/schema", "/v1/policies", "/v1/status", "/healthz", "/readyz", "/openapi.json",
         "/metrics"])
    decide = document["paths"]["/v1/policies/cart.opening/decide"]["post"]
    assert sorted(decide["responses"]) == ["200", "400", "405", "413", "422"] and "security" not in decide
    assert decide["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Decision"}
    assert decide["responses"]["200"]["headers"]["X-Book-Revision"]["schema"] == {"type": "string"}
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    assert document["info"]["version"] == client.get("/v1/status").json()["revision"]


def test_the_document_and_schemas_follow_a_reload(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "book")
    proc, url = start("--policies", str(tmp_path / "book"))
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            before = c.get("/openapi.json").json()
            assert "/v1/policies/shipping/decide" in before["paths"]
            (tmp_path / "book" / "shipping.policy").unlink()
            until(lambda: c.get("/v1/status").json()["revision"] != before["info"]["version"],
                  "the watcher swaps the new book in")
            after, status = c.get("/openapi.json").json(), c.get("/v1/status").json()
            gone = c.get("/v1/policies/shipping/schema")
    finally:
        stop(proc)
    assert (status["policies"], after["info"]["version"]) == (17, status["revision"])
    assert sorted(set(before["paths"]) - set(after["paths"])) == ["/v1/policies/shipping/decide",
                                                                   "/v1/policies/shipping/schema"]
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "unknown_policy")


def test_with_a_token_the_decide_endpoints_need_the_bearer(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n", encoding="utf-8")
    proc, url = start("--token-file", str(token_file))
    try:
        document = httpx.get(url + "/openapi.json", timeout=60).json()  # the document itself needs no token
    finally:
        stop(proc)
    assert document["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, item in document["paths"].items():
        operation = item.get("post") or item["get"]
        assert ("security" in operation, "401" in operation["responses"]) == ((path.endswith("/decide"),) * 2)


def test_decisions_match_their_documented_schemas(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    for path, answer, facts in (("/v1/policies/deposit.stage/decide", "Decision", FACTS),
                                ("/v1/book/decide", "BookDecision", FACTS), ("/v1/book/decide", "BookDecision", POOR)):
        body = client.post(path, json={"facts": facts, "at": "2023-12-20"}).json()
        schema = {**document["components"]["schemas"][answer], "components": document["components"]}  # refs resolve
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


SCHEMA_REFUSES = {"bad_facts", "unknown_facts", "ambiguous_facts", "facts_object", "bad_date", "serve.body_keys",
                  "serve.no_facts", "serve.body_json", "serve.body_object"}
"""What a request the schema accepts is never refused for: only `conflicting_facts` (two spellings of one fact with
different values) is beyond JSON Schema, and `missing_facts` (which facts a decision needs depends on the rules)."""


def test_the_real_server_conforms_to_its_openapi_document(base: str) -> None:
    """schemathesis' cases for every operation of the served document (its pytest fixture loader does not run under
    pytest 9, so its Python API: one hypothesis run per operation and mode). Every answer is documented (status,
    content type, body, headers), none is a 500, and a body the schema accepts is not refused for its names or types."""
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 2 * 18 + 7  # every path but /openapi.json itself, which schemathesis leaves out
    for operation, mode in [(op, GenerationMode.POSITIVE) for op in operations] + [
            (op, GenerationMode.NEGATIVE) for op in operations if op.method == "post"]:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            response = case.call_and_validate(checks=CHECKS)
            if mode is GenerationMode.POSITIVE and response.status_code in (400, 422):
                assert response.json()["error"]["code"] not in SCHEMA_REFUSES, (case.body, response.text)
        conforms()


def test_with_a_log_the_decide_answers_document_their_decision_id(tmp_path: Path) -> None:
    proc, url = start("--log", str(tmp_path / "decisions.log"))
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            document = c.get("/openapi.json").json()
            answer = c.post("/v1/policies/cart.opening/decide", json={"facts": {"account": {"kind": "personal"}}})
    finally:
        stop(proc)
    validate_openapi(document)
    responses = document["paths"]["/v1/policies/cart.opening/decide"]["post"]["responses"]
    header = {"description": "决策日志中这一决策的编号（serve --log） / "
                             "the id of this decision's line in the decision log (serve --log)",
              "required": True, "schema": {"type": "string", "format": "uuid"}}
    assert (sorted(responses["200"]["headers"]), responses["200"]["headers"]["X-Decision-Id"]) == \
        (["X-Book-Revision", "X-Decision-Id"], header)
    assert responses["422"]["headers"] == {"X-Decision-Id": header}
    assert answer.status_code == 422 and len(answer.headers["x-decision-id"]) == 36  # a missing-facts answer, logged
