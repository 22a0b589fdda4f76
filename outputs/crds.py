"""Validate Karpenter manifests against CRD OpenAPI v3 schemas (plus their CEL rules).

`load_crds(DIR)` reads every CustomResourceDefinition in the YAML files of DIR (the user points
at their cluster's CRDs with `--crds DIR` / `SPOTSEL_KARPENTER_CRDS_DIR`; tests use
../shared/data/karpenter-crds). Each served version's `schema.openAPIV3Schema` is checked with a
JSON-Schema Draft-7 validator (which accepts the schema as-is and ignores the `x-*` keys), then
the CEL rules with `outputs.cel`.

Without CRDs, `builtin_schemas()` is used: a minimal structural schema of our own for exactly
what spotsel emits (required fields, operator / effect enums, weight and minValues bounds, the
priceAdjustment format, nodeClassRef group without a version) with the same CEL rules we rely
on. It catches our own bugs, not a cluster's version skew: the CLI says so on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema
import yaml

from core.errors import ConfigError
from outputs import grammar
from outputs.cel import check_rules
from outputs.errors import InvalidOutputError

__all__ = [
    "BUILTIN",
    "CrdSchemas",
    "builtin_schemas",
    "load_crds",
    "manifest_errors",
    "resolve_crds",
    "validate_manifests",
]

BUILTIN: Final = "built-in structural check"
# Errors listed in one message: enough to fix the first ones, short enough for one line.
MAX_ERRORS_SHOWN: Final = 3

Key = tuple[str, str]  # (apiVersion, kind)


@dataclass(frozen=True, slots=True)
class CrdSchemas:
    """openAPIV3Schema per (apiVersion, kind), and where they came from."""

    schemas: Mapping[Key, Mapping[str, Any]]
    source: str

    @property
    def builtin(self) -> bool:
        return self.source == BUILTIN


def load_crds(directory: Path) -> CrdSchemas:
    """Every served version of every CRD in DIR's *.yaml / *.yml files."""
    if not directory.is_dir():
        raise ConfigError(f"CRD directory {directory} does not exist")
    schemas: dict[Key, Mapping[str, Any]] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"CRD file {path} cannot be read as YAML: {exc}") from exc
        for doc in docs:
            if not isinstance(doc, Mapping) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
            for version in spec.get("versions") or []:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if version.get("served", True) and isinstance(schema, Mapping):
                    schemas[(f"{group}/{version['name']}", str(kind))] = schema
    if not schemas:
        raise ConfigError(f"no CustomResourceDefinition found in {directory}")
    return CrdSchemas(schemas=schemas, source=str(directory))


def manifest_errors(document: object, crds: CrdSchemas) -> list[str]:
    """All schema and CEL violations of one manifest (empty = valid)."""
    if not isinstance(document, Mapping):
        return [f"expected a mapping, got {type(document).__name__}"]
    key = (str(document.get("apiVersion")), str(document.get("kind")))
    schema = crds.schemas.get(key)
    if schema is None:
        return [f"no CRD for {key[0]} {key[1]} in {crds.source}"]
    validator = jsonschema.Draft7Validator(schema)
    errors = [
        f"{_path(e.absolute_path)}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    ]
    if not errors:  # CEL rules assume the structure is right
        errors = check_rules(schema, document).errors
    return errors


def validate_manifests(documents: Iterable[Mapping[str, Any]], crds: CrdSchemas) -> None:
    """Raise `InvalidOutputError` naming each invalid manifest; return quietly when all pass."""
    problems = []
    for doc in documents:
        errors = manifest_errors(doc, crds)
        if errors:
            name = (doc.get("metadata") or {}).get("name", "?")
            shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
            more = (
                f" (+{len(errors) - MAX_ERRORS_SHOWN} more)"
                if len(errors) > MAX_ERRORS_SHOWN
                else ""
            )
            problems.append(f"{doc.get('kind')} {name}: {shown}{more}")
    if problems:
        raise InvalidOutputError(
            f"manifests fail validation against {crds.source}: " + " | ".join(problems)
        )


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out or "."


# --- built-in minimal schemas (our own, for what spotsel emits) -------------------------------

_NODEPOOL_LABEL_RULE = {
    "rule": 'self.all(x, x != "karpenter.sh/nodepool")',
    "message": 'label "karpenter.sh/nodepool" is restricted',
}
_NO_VERSION = r"^[^/]*$"  # nodeClassRef.group: a group, never group/version
_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]
_REQUIREMENT_RULES = [
    {"rule": "self.all(x, x.operator == 'In' ? x.values.size() != 0 : true)",
     "message": "requirements with operator 'In' must have a value defined"},
    {"rule": "self.all(x, (x.operator == 'Gt' || x.operator == 'Lt' || x.operator == 'Gte' || "
             "x.operator == 'Lte') ? (x.values.size() == 1 && int(x.values[0]) >= 0) : true)",
     "message": "numeric operators need a single non-negative integer value"},
    {"rule": "self.all(x, (x.operator == 'In' && has(x.minValues)) ? "
             "x.values.size() >= x.minValues : true)",
     "message": "requirements with 'minValues' must have at least that many values"},
]  # fmt: skip
_HOSTNAME_RULE = {
    "rule": 'self != "kubernetes.io/hostname"',
    "message": 'label "kubernetes.io/hostname" is restricted',
}


def _requirements_schema(*, min_values: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "object",
        "required": ["key", "operator"],
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string", "maxLength": 316, "pattern": grammar.LABEL_KEY,
                    "x-kubernetes-validations": [_HOSTNAME_RULE]},
            "operator": {"type": "string", "enum": _OPERATORS},
            "values": {"type": "array", "items": {"type": "string", "maxLength": 63,
                                                  "pattern": grammar.LABEL_VALUE}},
        },
    }  # fmt: skip
    if min_values:
        item["properties"]["minValues"] = {"type": "integer", "minimum": 1, "maximum": 50}
    return {
        "type": "array",
        "maxItems": 100,
        "items": item,
        "x-kubernetes-validations": _REQUIREMENT_RULES,
    }


_NODECLASS_REF = {
    "type": "object",
    "required": ["group", "kind", "name"],
    "properties": {
        "group": {"type": "string", "minLength": 1, "pattern": _NO_VERSION},
        "kind": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
    },
}


def _manifest(spec: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes object whose ``spec`` follows ``spec``."""
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"metadata": {"type": "object", "required": ["name"]}, "spec": spec},
    }


def _nodepool_schema() -> dict[str, Any]:
    taint = {
        "type": "object",
        "required": ["key", "effect"],
        "properties": {
            "key": {"type": "string", "minLength": 1, "pattern": grammar.LABEL_KEY},
            "value": {"type": "string", "pattern": grammar.LABEL_KEY},
            "effect": {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
        },
    }
    budget = {
        "type": "object",
        "required": ["nodes"],
        "properties": {
            "nodes": {"type": "string", "pattern": grammar.BUDGET_NODES},
            "schedule": {"type": "string"},
            "duration": {"type": "string", "pattern": grammar.BUDGET_DURATION},
            "reasons": {"type": "array", "items": {"enum": ["Underutilized", "Empty", "Drifted"]}},
        },
    }
    spec: dict[str, Any] = {
        "type": "object",
        "required": ["template"],
        "properties": {
            "weight": {"type": "integer", "minimum": 1, "maximum": 100},
            "limits": {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                    "pattern": grammar.QUANTITY,
                },
            },
            "disruption": {
                "type": "object",
                "required": ["consolidateAfter"],
                "properties": {
                    "consolidateAfter": {"type": "string", "pattern": grammar.DURATION},
                    "consolidationPolicy": {
                        "enum": ["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"]
                    },
                    "budgets": {
                        "type": "array",
                        "maxItems": 50,
                        "items": budget,
                        "x-kubernetes-validations": [
                            {"rule": "self.all(x, has(x.schedule) == has(x.duration))",
                             "message": "'schedule' must be set with 'duration'"}
                        ],
                    },
                },
            },
            "template": {
                "type": "object",
                "required": ["spec"],
                "properties": {
                    "metadata": {
                        "type": "object",
                        "properties": {
                            "labels": {
                                "type": "object",
                                "maxProperties": 100,
                                "additionalProperties": {"type": "string", "maxLength": 63,
                                                         "pattern": grammar.LABEL_VALUE},
                                "x-kubernetes-validations": [_NODEPOOL_LABEL_RULE],
                            }
                        },
                    },
                    "spec": {
                        "type": "object",
                        "required": ["nodeClassRef", "requirements"],
                        "properties": {
                            "nodeClassRef": _NODECLASS_REF,
                            "requirements": _requirements_schema(min_values=True),
                            "taints": {"type": "array", "items": taint},
                        },
                    },
                },
            },
        },
    }  # fmt: skip
    return _manifest(spec)


def _overlay_schema() -> dict[str, Any]:
    spec: dict[str, Any] = {
        "type": "object",
        "required": ["requirements"],
        "properties": {
            "weight": {"type": "integer", "minimum": 1, "maximum": 10000},
            "price": {"type": "string", "pattern": grammar.PRICE},
            "priceAdjustment": {"type": "string", "pattern": grammar.PRICE_ADJUSTMENT},
            "requirements": _requirements_schema(min_values=False),
        },
        "x-kubernetes-validations": [
            {"rule": "!has(self.price) || !has(self.priceAdjustment)",
             "message": "cannot set both 'price' and 'priceAdjustment'"}
        ],
    }  # fmt: skip
    return _manifest(spec)


def builtin_schemas() -> CrdSchemas:
    """The minimal structural check used when no CRD directory is configured."""
    return CrdSchemas(
        schemas={
            ("karpenter.sh/v1", "NodePool"): _nodepool_schema(),
            ("karpenter.sh/v1alpha1", "NodeOverlay"): _overlay_schema(),
        },
        source=BUILTIN,
    )


def resolve_crds(directory: Path | None) -> CrdSchemas:
    """The one place a CRD source is chosen: DIR's CRDs, or the built-in structural check."""
    return builtin_schemas() if directory is None else load_crds(directory)
