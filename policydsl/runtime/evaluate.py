"""A compiled policy, facts and a date in; a Decision (or an error naming every missing fact) out."""
from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from typing import Any, Mapping

from policydsl.errors import PolicyDslError
from policydsl.runtime import values as rv
from policydsl.runtime import calendar as cal
from policydsl.runtime.decision import (Consequence, Decision, LazyText, Reason, TraceEvent, make_decision,
                                        make_reason)
from policydsl.runtime.program import CompiledPolicy, CompiledRule, Env, MissingFact



def evaluate(policy: CompiledPolicy, facts: Mapping[str, Any], at: dt.date, *, trace: bool = True,
             coverage: bool = False) -> Decision:
    if (policy.start and at < policy.start) or (policy.end and at > policy.end):
        period = f"{policy.start or '…'} – {policy.end or '…'}"
        raise PolicyDslError("E.not_in_force", policy=policy.id, at=at.isoformat(), period=period)
    if not trace and not coverage:
        return _decide_fast(policy, facts, at)
    env = Env(facts=policy.fact_plan.prepare(facts), at=at, policy=policy, hits=set() if coverage else None)
    try:
        return _decide(policy, env, trace)
    except PolicyDslError as exc:
        # What was reached before the error still counts: a scenario that expects the error
        # (a not-stated table cell, say) has exercised that cell.
        exc.coverage = frozenset(env.hits or ())  # type: ignore[attr-defined]
        raise


def _statuses(policy: CompiledPolicy, rules: tuple[CompiledRule, ...], env: Env,
              missing: dict[str, None]) -> list[tuple[CompiledRule, str, str | None]]:
    """(rule, status, overriding exception) for each rule; a missing fact is noted and the rest
    still runs, so one evaluation names every missing fact."""
    applies: dict[str, bool] = {}
    statuses: list[tuple[CompiledRule, str, str | None]] = []
    overriding: set[str] = set()
    for rule in rules:
        try:
            status, by = _run_rule(policy, rule, env, applies)
        except MissingFact as exc:
            for path in exc.paths:
                missing[path] = None
            status, by = "missing", None
        if by is not None:
            overriding.add(by)
        statuses.append((rule, status, by))
    # an exception speaks only when it overrides a rule that applied
    return [(rule, "not_needed" if status == "fired" and rule.exception_to and rule.name not in overriding
             else status, by) for rule, status, by in statuses]


def _decide(policy: CompiledPolicy, env: Env, trace: bool) -> Decision:
    at = env.at
    missing: dict[str, None] = {}
    statuses = _statuses(policy, policy.rules, env, missing)
    events: list[TraceEvent] = []
    reasons: list[Reason] = []
    warnings: list[Reason] = []
    allows: list[Reason] = []
    hits = env.hits
    for rule, status, by in statuses:
        if trace:
            events.append(TraceEvent(rule=rule.name, status=status, reads=_reads(rule.reads, env), detail=by))
        if status == "fired":
            if hits is not None:
                hits.add(f"rule:{rule.name}:fired")
            try:
                reason = rule.static_reason or _reason(policy, rule, env)
            except MissingFact as exc:  # a consequence of the fired rule lacks facts: the decision needs them
                missing.update(dict.fromkeys(exc.paths))
                continue
            (reasons if rule.outcome == "deny" else warnings if rule.outcome == "warn" else allows).append(reason)
        elif hits is not None and status == "satisfied":
            hits.add(f"rule:{rule.name}:passed")
    try:
        values = _values(policy, env)
    except _Unresolved as partial:
        values, unresolved = partial.values, partial.unresolved
        _shown_values_needed(policy, (*(reasons or allows), *warnings), unresolved, missing)
    else:
        unresolved = None
    if missing:
        raise missing_error(policy, missing, unresolved)
    return make_decision(policy.id, at, "deny" if reasons else "allow", values, policy.value_kinds,
                         tuple(reasons or allows), tuple(warnings), tuple(events),
                         frozenset(hits) if hits is not None else frozenset(), unresolved)


def _decide_fast(policy: CompiledPolicy, facts: Mapping[str, Any], at: dt.date) -> Decision:
    """`_decide` without a trace or coverage: the same statuses, reasons, values and errors, computed
    over only the rules in force on the day (`_run_rule` sets nothing else for the others), without
    recording what each rule read; rules with no exceptions are checked inline (calls are what
    costs in CPython)."""
    run = bisect_right(policy._bounds, at)  # the run of days `at` is in: see CompiledPolicy
    static = policy._static[run]
    env = Env(policy.fact_plan.prepare(facts), at, policy, static.copy() if static else None)
    missing: dict[str, None] | None = None
    reasons: list[Reason] = []
    warnings: list[Reason] | None = None
    allows: list[Reason] | None = None
    try:
        if policy.has_exceptions:
            missing = {}
            checks = tuple((None, None, rule) for rule, status, _ in
                           _statuses(policy, policy.rules_in_force(at), env, missing) if status == "fired")
        else:
            checks = policy._checks[run]  # (scope, condition, rule) of each rule in force on `at`
        for scope, condition, rule in checks:
            try:
                if scope is not None and not scope(env):
                    continue
                if condition is not None and condition(env):
                    continue
            except MissingFact as exc:
                if missing is None:
                    missing = {}
                for path in exc.paths:  # the rest still runs, so one evaluation names every missing fact
                    missing[path] = None
                continue
            try:
                reason = rule.static_reason or _reason(policy, rule, env)
            except MissingFact as exc:  # a consequence of the fired rule lacks facts: the decision needs them
                if missing is None:
                    missing = {}
                missing.update(dict.fromkeys(exc.paths))
                continue
            outcome = rule.outcome
            if outcome == "deny":
                reasons.append(reason)
            elif outcome == "warn":
                if warnings is None:
                    warnings = []
                warnings.append(reason)
            else:
                if allows is None:
                    allows = []
                allows.append(reason)
        try:
            values = _values(policy, env)
        except _Unresolved as partial:
            values, unresolved = partial.values, partial.unresolved
            if missing is None:
                missing = {}
            _shown_values_needed(policy, (*(reasons or allows or ()), *(warnings or ())), unresolved, missing)
        else:
            unresolved = None
        if missing:
            raise missing_error(policy, missing, unresolved)
    except PolicyDslError as exc:
        exc.coverage = _NO_COVERAGE  # type: ignore[attr-defined]
        raise
    return make_decision(policy.id, at, "deny" if reasons else "allow", values, policy.value_kinds,
                         tuple(reasons or allows or ()), tuple(warnings) if warnings else (), (), _NO_COVERAGE,
                         unresolved)


_NO_COVERAGE: frozenset[str] = frozenset()


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


class _Unresolved(Exception):
    """What `_values` raises when some value lacks facts (the rare path, so that the common one returns
    the values alone): the values it computed and, per value it could not, the facts that value lacks."""

    def __init__(self, values: dict[str, Any], unresolved: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.values = values
        self.unresolved = unresolved


def _values(policy: CompiledPolicy, env: Env) -> dict[str, Any]:
    """Every define's value on the day (those with no case in force left out). Values are lazy: a
    define whose computation lacks facts is not an error here; when there is one, _Unresolved carries
    these values and the facts each such define lacks."""
    out: dict[str, Any] = {}
    unresolved: dict[str, tuple[str, ...]] | None = None
    cache = env.cache
    for path in policy.defines:
        if path in cache:
            value = cache[path]
        else:
            try:
                value = value_of(env, path)
            except MissingFact as exc:
                if unresolved is None:
                    unresolved = {}
                unresolved[path] = exc.paths
                continue
        if value is not _ABSENT:
            out[path] = value
    if unresolved is not None:
        raise _Unresolved(out, unresolved)
    return out


def _shown_values_needed(policy: CompiledPolicy, shown: tuple[Reason, ...], unresolved: dict[str, tuple[str, ...]],
                         missing: dict[str, None]) -> None:
    """A value a reason or warning of the decision shows in its message is needed: the facts it
    lacks go to `missing` (the message would otherwise read “(not given)” for a computed value)."""
    for reason in shown:
        for path in policy.rule_index[reason.rule].placeholder_defines:
            for fact in unresolved.get(path, ()):
                missing[fact] = None


_ABSENT = object()


def value_of(env: Env, path: str) -> Any:
    """The memoised value of a define on env's date; _ABSENT when no dated case is in force."""
    cache = env.cache
    if path in cache:
        return cache[path]
    define = env.policy.defines[path]
    if define.case_bounds is not None:  # no case has a `when`: the day alone picks the case
        index = define.case_index[bisect_right(define.case_bounds, env.at)]
        if not index:
            cache[path] = _ABSENT
            return _ABSENT
        result = define.cases[index - 1].value(env)
        if env.hits is not None and len(define.cases) > 1:
            env.hits.add(f"case:{path}:{index}")
        cache[path] = result
        return result
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
    """The reason (or warning) a fired rule gives, with its consequences; MissingFact names every fact
    its consequences need and lack (the rule fired, so the decision needs them)."""
    parts = rule.message_parts
    message = LazyText.of(lambda lang: _fill(policy, parts[lang], env, lang))
    consequences = _consequences(policy, rule, env) if rule.consequences else ()
    return make_reason(rule.name, rule.code, rule.outcome, message, rule.source, consequences)


def _consequences(policy: CompiledPolicy, rule: CompiledRule, env: Env) -> tuple[Consequence, ...]:
    out = []
    missing: dict[str, None] = {}
    for c in rule.consequences:
        try:
            until = None
            if c.period == "for":
                amount, unit = c.end(env)  # type: ignore[misc]
                until = cal.add_duration(env.at, amount, unit)
            elif c.period == "until":
                until = c.end(env)  # type: ignore[misc]
            amount = c.amount(env) if c.amount is not None else None
        except MissingFact as exc:
            missing.update(dict.fromkeys(exc.paths))
            continue
        parts = c.parts
        text = LazyText.of(lambda lang, parts=parts: _fill(policy, parts[lang], env, lang))
        out.append(Consequence(rule=rule.name, code=rule.code, kind=c.kind, until=until,
                               permanent=c.period == "permanent", amount=amount, message=text))
    if missing:
        raise MissingFact(*missing)
    return tuple(out)


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


def missing_error(policy: CompiledPolicy, missing: dict[str, None],
                   unresolved: dict[str, tuple[str, ...]] | None = None) -> PolicyDslError:
    """E.missing_facts naming every fact the decision lacks: those its rules needed, then those its
    values lacked (the decision failing anyway, one run names them all)."""
    for facts in (unresolved or {}).values():
        for fact in facts:
            missing[fact] = None

    def line(path: str, lang: str) -> str:
        if path not in policy.inputs:  # a fact of another policy (a book property reading its values)
            return f"  - {path}"
        label = policy.inputs[path].label
        return f"  - {path}（{label['zh']} / {label['en']}）" if lang == "zh" else f"  - {path} ({label['zh']} / {label['en']})"
    items = {lang: "\n".join(line(p, lang) for p in missing) for lang in ("zh", "en")}
    return PolicyDslError("E.missing_facts", facts=missing, items=items)
