"""The workload snippet: tolerations, affinity in the correct form, preStop, grace period."""

from __future__ import annotations

from typing import Any

import pytest

from selector.outputs import grace_seconds, notice_seconds, workload_snippet
from tests.selector.outputs.fixtures import as_json, assert_golden, profile


def _expressions(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "matchExpressions":
                found += value
            found += _expressions(value)
    elif isinstance(node, list):
        for item in node:
            found += _expressions(item)
    return found


def test_snippet_fields() -> None:
    spec = workload_snippet(profile())["template"]["spec"]
    assert spec["tolerations"] == [
        {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    affinity = spec["affinity"]["nodeAffinity"]
    [preferred] = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["preference"]["matchExpressions"] == [
        {"key": "lifecycle", "operator": "In", "values": ["spot"]}
    ]
    [term] = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [
        {"key": "spotsel.io/critical-addons-only", "operator": "DoesNotExist"}
    ]
    [container] = spec["containers"]
    assert container["name"] == "trainer"
    assert container["lifecycle"]["preStop"]["exec"]["command"] == [
        "/bin/sh", "-c", "python train.py --checkpoint-now"
    ]  # fmt: skip
    assert spec["terminationGracePeriodSeconds"] == 120


def test_every_match_expression_has_a_key_and_no_important() -> None:
    """Why: the classic example uses `important:` instead of `key:`; we must not."""
    snippet = workload_snippet(profile())
    expressions = _expressions(snippet)
    assert len(expressions) == 2
    assert all("key" in e and "operator" in e for e in expressions)
    assert "important" not in as_json(snippet)


@pytest.mark.parametrize(("cloud", "seconds"), [("aws", 120), ("azure", 30), ("gcp", 30)])
def test_notice_windows(cloud: str, seconds: int) -> None:
    assert notice_seconds(cloud) == seconds


def test_profile_grace_overrides_the_notice() -> None:
    assert grace_seconds(profile(grace_seconds=90)) == 90
    snippet = workload_snippet(profile(grace_seconds=90))
    assert snippet["template"]["spec"]["terminationGracePeriodSeconds"] == 90


def test_no_checkpoint_command_no_hook() -> None:
    [container] = workload_snippet(profile(checkpoint_command=()))["template"]["spec"]["containers"]
    assert "lifecycle" not in container


def test_snippet_golden() -> None:
    assert_golden("workload-snippet.json", as_json(workload_snippet(profile())))
