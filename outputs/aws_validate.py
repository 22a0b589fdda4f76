"""Validate EC2 CreateFleet and Auto Scaling CreateAutoScalingGroup inputs offline.

botocore's `ParamValidator` checks types, required members and ranges against the service model
shipped with botocore, but not enums (moto does not either: it accepts an unknown strategy).
So every string member whose model shape has an enum is checked too, and for Auto Scaling,
whose model declares its strategies as plain strings, against the values the AWS documentation
lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import botocore.session
from botocore.validate import ParamValidator

from outputs.errors import InvalidOutputError

__all__ = [
    "ASG_ENUMS",
    "asg_request_errors",
    "fleet_request_errors",
    "load_fleet_json",
    "validate_asg_request",
    "validate_fleet_request",
]

# botocore's InstanceType enum lags new instance families; EC2 itself rejects unknown types.
ENUM_EXEMPT_SHAPES: Final = frozenset({"InstanceType"})
# CreateAutoScalingGroup InstancesDistribution values (AWS Auto Scaling API reference,
# InstancesDistribution): the model types them as plain strings.
ASG_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "OnDemandAllocationStrategy": ("lowest-price", "prioritized"),
    "SpotAllocationStrategy": (
        "lowest-price",
        "capacity-optimized",
        "capacity-optimized-prioritized",
        "price-capacity-optimized",
    ),
}


@lru_cache(maxsize=4)
def _input_shape(service: str, operation: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).input_shape


def _enum_errors(value: Any, shape: Any, path: str) -> list[str]:
    errors: list[str] = []
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                errors += _enum_errors(value[name], member, f"{path}.{name}")
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            errors += _enum_errors(item, shape.member, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            errors += _enum_errors(item, shape.value, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        allowed = list(getattr(shape, "enum", None) or [])
        if allowed and shape.name not in ENUM_EXEMPT_SHAPES and value not in allowed:
            errors.append(f"{path or '.'}: {value!r} is not one of {allowed} ({shape.name})")
    return errors


def _botocore_errors(request: object, service: str, operation: str) -> list[str]:
    shape = _input_shape(service, operation)
    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        return [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    return _enum_errors(request, shape, "")


def fleet_request_errors(request: object) -> list[str]:
    """Problems of a CreateFleet input (empty = valid)."""
    return _botocore_errors(request, "ec2", "CreateFleet")


def asg_request_errors(request: object) -> list[str]:
    """Problems of a CreateAutoScalingGroup input, MixedInstancesPolicy enums included."""
    errors = _botocore_errors(request, "autoscaling", "CreateAutoScalingGroup")
    if errors or not isinstance(request, Mapping):
        return errors
    policy = request.get("MixedInstancesPolicy") or {}
    distribution = policy.get("InstancesDistribution") or {}
    for field, allowed in ASG_ENUMS.items():
        value = distribution.get(field)
        if value is not None and value not in allowed:
            errors.append(
                f".MixedInstancesPolicy.InstancesDistribution.{field}: {value!r} is not one of "
                f"{list(allowed)}"
            )
    return errors


def _raise(what: str, errors: list[str]) -> None:
    if errors:
        raise InvalidOutputError(f"{what} fails botocore validation: " + "; ".join(errors[:5]))


def validate_fleet_request(request: object, *, what: str = "CreateFleet request") -> None:
    _raise(what, fleet_request_errors(request))


def validate_asg_request(request: object, *, what: str = "CreateAutoScalingGroup request") -> None:
    _raise(what, asg_request_errors(request))


def load_fleet_json(path: Path) -> dict[str, Any]:
    """Read a CreateFleet input from strict JSON (trailing commas are an error, as in AWS CLI)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidOutputError(
            f"{path.name}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except OSError as exc:
        raise InvalidOutputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not isinstance(doc, dict):
        raise InvalidOutputError(f"{path.name}: expected a JSON object")
    return doc
