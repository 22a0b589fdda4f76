"""The CRDs' `x-kubernetes-validations` (CEL) rules that JSON Schema cannot see, for the shapes
Karpenter's NodePool / NodeOverlay / NodeClaim CRDs use.

Not a CEL interpreter: each supported rule *shape* is recognised by a regular expression and
evaluated in Python, with its parameters (label lists, domains, operators) read from the rule
text of the user's CRD, so a newer CRD's allow-lists are honoured. Transition rules (`oldSelf`)
only apply to updates of an existing object and are skipped. A rule of an unknown shape is
reported as not evaluated (the API server will still evaluate it); tests assert that every rule
on the paths our generated manifests use is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["CelReport", "check_rules", "compile_rule"]

Check = Callable[[Any], bool]

_Q = r"[\"']"  # CEL accepts either quote
_LABEL_DOMAIN: Final = re.compile(
    r"^(?:self\.all\((?P<var>\w+), )?(?P<v1>\w+) in \[(?P<list>[^\]]*)\] \|\| "
    r"!(?P<v2>\w+)\.find\(\"\^\(\[\^/\]\+\)\"\)\.endsWith\(\"(?P<domain>[^\"]+)\"\)\)?$"
)
_NOT_EQUAL: Final = re.compile(
    rf"^(?:self\.all\((?P<var>\w+), )?(?P<v>\w+) != {_Q}(?P<value>[^\"']*){_Q}\)?$"
)
_OP_NEEDS_VALUES: Final = re.compile(
    r"^self\.all\(x, x\.operator == '(?P<op>\w+)' \? x\.values\.size\(\) != 0 : true\)$"
)
_NUMERIC_OPS: Final = (
    "self.all(x, (x.operator == 'Gt' || x.operator == 'Lt' || x.operator == 'Gte' || "
    "x.operator == 'Lte') ? (x.values.size() == 1 && int(x.values[0]) >= 0) : true)"
)
_MIN_VALUES: Final = (
    "self.all(x, (x.operator == 'In' && has(x.minValues)) ? x.values.size() >= x.minValues : true)"
)
_SCHEDULE_DURATION: Final = "self.all(x, has(x.schedule) == has(x.duration))"
_PRICE_XOR: Final = "!has(self.price) || !has(self.priceAdjustment)"
_RESTRICTED_KEYS: Final = re.compile(r"^self\.all\(x, !\(x in \[(?P<list>[^\]]*)\]\)\)$")
_STATIC_WEIGHT: Final = "!has(self.replicas) || !has(self.weight)"
_STATIC_LIMITS: Final = (
    "!has(self.replicas) || (!has(self.limits) || size(self.limits) == 0 || "
    "(size(self.limits) == 1 && 'nodes' in self.limits))"
)


@dataclass
class CelReport:
    """Violations found and rules that could not be evaluated (with their paths)."""

    errors: list[str] = field(default_factory=list)
    unevaluated: list[str] = field(default_factory=list)


def _strings(text: str) -> set[str]:
    return set(re.findall(r"[\"']([^\"']*)[\"']", text))


def _domain(label: str) -> str:
    return label.split("/", 1)[0]  # CEL find("^([^/]+)"): everything before the first '/'


def _items(value: Any) -> list[Any]:
    """CEL `all` iterates a list's items or a map's keys."""
    if isinstance(value, Mapping):
        return list(value)
    return list(value) if isinstance(value, list) else []


def _int_ok(values: list[Any]) -> bool:
    if len(values) != 1:
        return False
    try:
        return int(str(values[0])) >= 0
    except ValueError:
        return False


def compile_rule(rule: str) -> Check | None:
    """A Python check for a supported rule shape, else None."""
    rule = " ".join(rule.split())
    if m := _LABEL_DOMAIN.match(rule):
        allowed, domain, each = _strings(m["list"]), m["domain"], m["var"] is not None
        ok: Check = lambda v: v in allowed or not _domain(str(v)).endswith(domain)  # noqa: E731
        return (lambda value: all(ok(x) for x in _items(value))) if each else ok
    if m := _NOT_EQUAL.match(rule):
        banned, each = m["value"], m["var"] is not None
        return (
            (lambda value: all(x != banned for x in _items(value)))
            if each
            else (lambda value: value != banned)
        )
    if m := _OP_NEEDS_VALUES.match(rule):
        op = m["op"]
        return lambda value: all(
            bool(x.get("values")) for x in _items(value) if x.get("operator") == op
        )
    if rule == _NUMERIC_OPS:
        return lambda value: all(
            _int_ok(list(x.get("values") or []))
            for x in _items(value)
            if x.get("operator") in ("Gt", "Lt", "Gte", "Lte")
        )
    if rule == _MIN_VALUES:
        return lambda value: all(
            len(x.get("values") or []) >= x["minValues"]
            for x in _items(value)
            if x.get("operator") == "In" and "minValues" in x
        )
    if rule == _SCHEDULE_DURATION:
        return lambda value: all(("schedule" in x) == ("duration" in x) for x in _items(value))
    if rule == _PRICE_XOR:
        return lambda value: not ("price" in value and "priceAdjustment" in value)
    if m := _RESTRICTED_KEYS.match(rule):
        banned_keys = _strings(m["list"])
        return lambda value: not any(x in banned_keys for x in _items(value))
    if rule == _STATIC_WEIGHT:
        return lambda value: "replicas" not in value or "weight" not in value
    if rule == _STATIC_LIMITS:
        return lambda value: (
            "replicas" not in value or not value.get("limits") or set(value["limits"]) == {"nodes"}
        )
    return None


def _walk(
    schema: Mapping[str, Any], value: Any, path: str
) -> Iterator[tuple[str, dict[str, Any], Any]]:
    for rule in schema.get("x-kubernetes-validations", ()):
        yield path, rule, value
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, Mapping) else None)
            if isinstance(sub, Mapping):
                yield from _walk(sub, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            yield from _walk(schema["items"], item, f"{path}[{i}]")


def check_rules(schema: Mapping[str, Any], document: Any) -> CelReport:
    """Evaluate every supported rule along the paths present in `document`."""
    report = CelReport()
    for path, rule, value in _walk(schema, document, ""):
        text = str(rule.get("rule", ""))
        if "oldSelf" in text:
            continue  # transition rule: only on update, against the stored object
        check = compile_rule(text)
        if check is None:
            report.unevaluated.append(f"{path or '.'}: {text}")
            continue
        try:
            ok = check(value)
        except (AttributeError, KeyError, TypeError):
            ok = False  # the value does not even have the shape the rule expects
        if not ok:
            report.errors.append(f"{path or '.'}: {rule.get('message', text)}")
    return report
