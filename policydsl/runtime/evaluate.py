"""A compiled policy, facts and a date in; a Decision (or an error naming every missing fact) out."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from policydsl.errors import PolicyDslError
from policydsl.runtime import values as rv
from policydsl.runtime.decision import Decision, LazyText, Reason, TraceEvent
from policydsl.runtime.facts import prepare
from policydsl.runtime.program import CompiledPolicy, CompiledRule, Env, MissingFact



def evaluate(policy: CompiledPolicy, facts: Mapping[str, Any], at: dt.date, *, trace: bool = True,
             coverage: bool = False) -> Decision:
    if (policy.start and at < policy.start) or (policy.end and at > policy.end):
        period = f"{policy.start or '…'} – {policy.end or '…'}"
        raise PolicyDslError("E.not_in_force", policy=policy.id, at=at.isoformat(), period=period)
    env = Env(facts=prepare(policy.inputs, facts), at=at, policy=policy, hits=set() if coverage else None)
    try:
        return _decide(policy, env, trace)
    except PolicyDslError as exc:
        # What was reached before the error still counts: a scenario that expects the error
        # (a not-stated table cell, say) has exercised that cell.
        exc.coverage = frozenset(env.hits or ())  # type: ignore[attr-defined]
        raise


def _decide(policy: CompiledPolicy, env: Env, trace: bool) -> Decision:
    at = env.at
    missing: dict[str, None] = {}
    applies: dict[str, bool] = {}
    statuses: list[tuple[CompiledRule, str, str | None]] = []
    overriding: set[str] = set()
    for rule in policy.rules:
        try:
            status, by = _run_rule(policy, rule, env, applies)
        except MissingFact as exc:
            missing[exc.path] = None  # the rest still runs, so one evaluation names every missing fact
            status, by = "missing", None
        if by is not None:
            overriding.add(by)
        statuses.append((rule, status, by))
    events: list[TraceEvent] = []
    reasons: list[Reason] = []
    warnings: list[Reason] = []
    allows: list[Reason] = []
    hits = env.hits
    for rule, status, by in statuses:
        if status == "fired" and rule.exception_to and rule.name not in overriding:
            status = "not_needed"  # an exception speaks only when it overrides a rule that applied
        if trace:
            events.append(TraceEvent(rule=rule.name, status=status, reads=_reads(rule.reads, env), detail=by))
        if status == "fired":
            if hits is not None:
                hits.add(f"rule:{rule.name}:fired")
            reason = _reason(policy, rule, env)
            (reasons if rule.outcome == "deny" else warnings if rule.outcome == "warn" else allows).append(reason)
        elif hits is not None and status == "satisfied":
            hits.add(f"rule:{rule.name}:passed")
    values = _values(policy, env, missing)
    if missing:
        raise _missing_error(policy, missing)
    kinds = policy.value_kinds
    return Decision(policy=policy.id, at=at, outcome="deny" if reasons else "allow", values=values,
                    value_kinds=kinds,
                    reasons=tuple(reasons or allows), warnings=tuple(warnings), trace=tuple(events),
                    coverage=frozenset(hits) if hits is not None else frozenset())


def _run_rule(policy: CompiledPolicy, rule: CompiledRule, env: Env, applies: dict[str, bool]) -> tuple[str, str | None]:
    at = env.at
    if (rule.start is not None and at < rule.start) or (rule.end is not None and at > rule.end):
        applies[rule.name] = False
        return "not_in_force", None
    in_scope = rule.scope is None or bool(rule.scope(env))
    applies[rule.name] = in_scope
    if not in_scope:
        return "out_of_scope", None
    for name in rule.exceptions:
        if _exception_applies(policy, name, env, applies):
            return "overridden", name
    if rule.kind == "require":
        return ("satisfied", None) if rule.condition(env) else ("fired", None)  # type: ignore[misc]
    return "fired", None


def _exception_applies(policy: CompiledPolicy, name: str, env: Env, applies: dict[str, bool]) -> bool:
    if name not in applies:
        exc = policy.rule_index[name]
        applies[name] = exc.in_force(env.at) and (exc.scope is None or bool(exc.scope(env)))
    return applies[name]


def _reads(reads: frozenset[str], env: Env) -> dict[str, Any]:
    return {path: env.facts[path] for path in sorted(reads) if path in env.facts}


def _values(policy: CompiledPolicy, env: Env, missing: dict[str, None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, define in policy.defines.items():
        try:
            value = value_of(env, path)
        except MissingFact as exc:
            missing[exc.path] = None
            continue
        if value is not _ABSENT:
            out[path] = value
    return out


_ABSENT = object()


def value_of(env: Env, path: str) -> Any:
    """The memoised value of a define on env's date; _ABSENT when no dated case is in force."""
    if path in env.cache:
        return env.cache[path]
    define = env.policy.defines[path]
    result: Any = _ABSENT
    for index, case in enumerate(define.cases, start=1):
        if case.start and env.at < case.start or case.end and env.at > case.end:
            continue
        if case.when is None or case.when(env):
            result = case.value(env)
            if env.hits is not None and len(define.cases) > 1:
                env.hits.add(f"case:{path}:{index}")
            break
    env.cache[path] = result
    return result


def require_value(env: Env, path: str) -> Any:
    value = value_of(env, path)
    if value is _ABSENT:
        raise PolicyDslError("E.no_case", name=path, at=env.at.isoformat())
    return value


def _reason(policy: CompiledPolicy, rule: CompiledRule, env: Env) -> Reason:
    parts = rule.message_parts
    message = LazyText(lambda lang: _fill(policy, parts[lang], env, lang))
    return Reason(rule=rule.name, code=rule.code, outcome=rule.outcome, message=message, source=rule.source)


def _fill(policy: CompiledPolicy, parts: tuple[tuple[str, str | None], ...], env: Env, lang: str) -> str:
    """A message from its precompiled (text, placeholder) parts; a placeholder whose value is
    unknown (a fact the decision did not need and was not given) reads “（未提供）” / “(not given)”."""
    if len(parts) == 1 and parts[0][1] is None:
        return parts[0][0]
    out = []
    for text, path in parts:
        out.append(text)
        if path is not None:
            out.append(_placeholder(policy, path, env, lang))
    return "".join(out)


def _placeholder(policy: CompiledPolicy, path: str, env: Env, lang: str) -> str:
    try:
        value = env.facts[path] if path in env.facts else value_of(env, path) if path in policy.defines else None
    except MissingFact:
        value = None
    if value is None or value is _ABSENT:  # a fact the decision did not need and was not given
        return "（未提供）" if lang == "zh" else "(not given)"
    return rv.display(policy.value_kinds[path], value, lang, policy.labeler(path))


def _missing_error(policy: CompiledPolicy, missing: dict[str, None]) -> PolicyDslError:
    def line(path: str, lang: str) -> str:
        label = policy.inputs[path].label
        return f"  - {path}（{label['zh']} / {label['en']}）" if lang == "zh" else f"  - {path} ({label['zh']} / {label['en']})"
    items = {lang: "\n".join(line(p, lang) for p in missing) for lang in ("zh", "en")}
    error = PolicyDslError("E.missing_facts", items=items)
    error.missing = tuple(missing)  # type: ignore[attr-defined]
    return error
