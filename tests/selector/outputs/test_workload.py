"""The workload snippet: tolerations, affinity in the correct form, preStop, grace period."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from selector.outputs import (
    DEADLINE_ENV,
    DRAIN_DELAY_SECONDS,
    EXIT_MARGIN_SECONDS,
    SIMULATED_KEY,
    OutputError,
    Provenance,
    grace_seconds,
    max_grace_seconds,
    notice_seconds,
    workload_snippet,
)
from tests.selector.outputs.fixtures import HOOK, as_json, assert_golden, profile


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
        {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": "spotsel.io/profile", "operator": "Equal", "value": "gpu-trainer",
         "effect": "NoSchedule"},
    ]  # fmt: skip
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
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["/bin/sh", "-c", HOOK]
    assert spec["terminationGracePeriodSeconds"] == 100


def test_grace_is_the_notice_minus_the_drain_delay_with_the_checkpoint_inside() -> None:
    """AWS: 120 s notice - 20 s until Karpenter evicts the pod = 100 s; the hook may wait
    100 - 10 s (to exit after it) = 90 s for the final checkpoint, and is told so."""
    p = profile()
    grace = grace_seconds(p)
    assert grace == notice_seconds("aws") - DRAIN_DELAY_SECONDS == max_grace_seconds("aws") == 100
    [container] = workload_snippet(p)["template"]["spec"]["containers"]
    [env] = container["env"]
    assert env == {"name": DEADLINE_ENV, "value": str(grace - EXIT_MARGIN_SECONDS)}
    assert p.requirements.final_checkpoint_seconds <= int(env["value"]) < grace
    assert DEADLINE_ENV in HOOK, "the example hook waits for the deadline it is given"


@pytest.mark.parametrize(
    ("final", "grace", "fits"),
    [
        pytest.param(60.0, None, True, id="60 s in the default 90 s"),
        pytest.param(90.0, None, True, id="exactly the deadline"),
        pytest.param(91.0, None, False, id="a second too long"),
        pytest.param(30.0, 40, True, id="short grace, short checkpoint"),
        pytest.param(31.0, 40, False, id="short grace, checkpoint past it"),
    ],
)
def test_final_checkpoint_must_fit_the_hook(final: float, grace: int | None, fits: bool) -> None:
    """Why: a hook killed mid-write tears the checkpoint it was writing."""
    p = profile(
        requirements=replace(profile().requirements, final_checkpoint_seconds=final),
        grace_seconds=grace,
    )
    if fits:
        workload_snippet(p)
    else:
        with pytest.raises(OutputError, match="does not fit"):
            workload_snippet(p)


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


def test_profile_grace_overrides_the_default() -> None:
    assert grace_seconds(profile(grace_seconds=90)) == 90
    snippet = workload_snippet(profile(grace_seconds=90))
    assert snippet["template"]["spec"]["terminationGracePeriodSeconds"] == 90


def test_no_checkpoint_command_no_hook_and_no_deadline() -> None:
    p = profile(
        checkpoint_command=(),
        requirements=replace(profile().requirements, final_checkpoint_seconds=600.0),
    )
    [container] = workload_snippet(p)["template"]["spec"]["containers"]
    assert "lifecycle" not in container
    assert "env" not in container


def test_simulated_label_only_for_simulated_data() -> None:
    sim = workload_snippet(profile(), provenance=Provenance(simulated=True, sources=("sim",)))
    assert sim["template"]["metadata"]["annotations"][SIMULATED_KEY] == "true"
    real = workload_snippet(profile(), provenance=Provenance(sources=("aws",)))
    assert "annotations" not in real["template"]["metadata"]


def test_snippet_golden() -> None:
    assert_golden("workload-snippet.json", as_json(workload_snippet(profile())))
