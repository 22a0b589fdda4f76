"""On-demand discounts in the Karpenter outputs, validated against the real NodeOverlay CRD.

Karpenter prices on-demand at list; under a Savings Plan the fallback NodePool's overlays must
lower those prices by the discount, or Karpenter's own comparisons still see list prices.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from outputs.crds import CrdSchemas, load_crds, manifest_errors, validate_manifests
from outputs.errors import ProfileError
from outputs.generate import generate_karpenter
from outputs.profiles import parse_profile
from selector import parse_requirements
from selector.discounts import parse_discounts
from selector.outputs import karpenter_documents, wants_fallback
from selector.outputs.karpenter import discount_adjustment
from tests.outputs.helpers import CRDS
from tests.selector.factories import NOW
from tests.selector.outputs.fixtures import REGION_ZONES, market, profile, ranking

# The fixed market's on-demand list prices per type (tests/selector/outputs/fixtures.py).
RULES = {"aws": 0.2, "aws/g5": 0.35, "aws/us-east-1/p3": 0.4}


@pytest.fixture(scope="module")
def crds() -> CrdSchemas:
    return load_crds(CRDS)


def _discounted_profile(rules: dict[str, float], **overrides: Any) -> Any:
    p = profile(**overrides)
    return replace(
        p, requirements=replace(p.requirements, on_demand_discounts=parse_discounts(rules))
    )


def _documents(rules: dict[str, float], **overrides: Any) -> Any:
    p = _discounted_profile(rules, **overrides)
    snapshot = market()
    return karpenter_documents(
        p,
        spot=ranking(p, "spot", snapshot),
        on_demand=ranking(p, "on-demand", snapshot),
        region_zones=REGION_ZONES,
    )


def _on_demand_overlays(docs: Any) -> list[dict[str, Any]]:
    return [
        o
        for o in docs.overlays
        if {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}
        in o["spec"]["requirements"]
    ]


def _fallback(docs: Any) -> dict[str, Any]:
    [pool] = [p for p in docs.nodepools if p["metadata"]["name"].endswith("-on-demand")]
    return pool


def _values(doc: dict[str, Any], key: str) -> list[str]:
    reqs = doc["spec"].get("requirements") or doc["spec"]["template"]["spec"]["requirements"]
    [found] = [r["values"] for r in reqs if r["key"] == key]
    return list(found)


@pytest.mark.parametrize(
    ("discount", "expected"),
    [
        (0.2, "-20%"),
        (0.455, "-45.5%"),
        (0.12345, "-12.35%"),  # a hundredth of a percent is the precision
        (0.99999, "-99.99%"),  # the CRD's decrease pattern stops below 100
        (0.0, None),  # no discount: no overlay, Karpenter's list price is right
        (0.00001, None),  # rounds to nothing
    ],
)
def test_discount_adjustment_is_a_percentage_the_crd_accepts(
    discount: float, expected: str | None, crds: CrdSchemas
) -> None:
    assert discount_adjustment(discount) == expected
    if expected is not None:
        overlay = _on_demand_overlays(_documents({"aws": 0.2}))[0]
        overlay["spec"]["priceAdjustment"] = expected
        assert manifest_errors(overlay, crds) == []


def test_every_fallback_type_is_lowered_by_its_own_discount(crds: CrdSchemas) -> None:
    docs = _documents(RULES)
    fallback = _fallback(docs)
    types = _values(fallback, "node.kubernetes.io/instance-type")
    overlays = {
        _values(o, "node.kubernetes.io/instance-type")[0]: o for o in _on_demand_overlays(docs)
    }
    assert sorted(overlays) == sorted(types), "every type the fallback allows is covered"
    rules = parse_discounts(RULES)
    for itype, overlay in overlays.items():
        family = itype.split(".")[0]
        discount = rules.discount_for("aws", "us-east-1", family)
        assert overlay["spec"]["priceAdjustment"] == discount_adjustment(discount), itype
        assert _values(overlay, "karpenter.sh/nodepool") == [fallback["metadata"]["name"]]
        notes = overlay["metadata"]["annotations"]
        assert float(notes["spotsel.io/on-demand-discount"]) == discount
        list_price = float(notes["spotsel.io/on-demand-list-price"])
        assert float(notes["spotsel.io/on-demand-price"]) == pytest.approx(
            list_price * (1 - discount), abs=1e-6
        )
    assert {o["spec"]["priceAdjustment"] for o in overlays.values()} >= {"-35%", "-40%"}, (
        "family and region+family rules both reach the overlays"
    )
    validate_manifests(docs.manifests, crds)
    for doc in docs.manifests:
        assert manifest_errors(doc, crds) == [], doc["metadata"]["name"]


def test_spot_overlays_are_unchanged_by_a_discount() -> None:
    """Why: the spot overlays price risk; the discount is about on-demand only."""
    plain = _documents({})
    discounted = _documents(RULES)
    assert _on_demand_overlays(plain) == []
    spot = [o for o in discounted.overlays if o not in _on_demand_overlays(discounted)]
    assert spot == list(plain.overlays)


def test_no_overlays_without_the_opt_in_or_without_a_fallback() -> None:
    assert _documents(RULES, node_overlays=False).overlays == ()
    # The fixed market's spot pays off, so `auto` emits no fallback and nothing to lower.
    docs = _documents(RULES, on_demand_fallback="auto")
    assert not [p for p in docs.nodepools if p["metadata"]["name"].endswith("-on-demand")]
    assert _on_demand_overlays(docs) == []


def test_a_discount_that_flips_the_verdict_brings_the_auto_fallback() -> None:
    p = profile(on_demand_fallback="auto")
    assert wants_fallback(p, ranking(p, "spot")) is False
    flipped = _discounted_profile({"aws": 0.95}, on_demand_fallback="auto")
    spot = ranking(flipped, "spot")
    assert spot.verdict.spot_pays_off is False
    assert "95% discount" in spot.verdict.message
    assert wants_fallback(flipped, spot) is True


def test_profiles_and_settings_reach_the_generated_overlays(crds: CrdSchemas) -> None:
    """The composition: a profile's own rules over the deployment's default, rule by rule."""
    item = {
        "name": "gpu-trainer",
        "requirements": {
            "gpus": 1,
            "gpu_memory_gib": 16,
            "regions": ["us-east-1"],
            "nodes": 6,
            "top": 12,
            "on_demand_discounts": {"aws/g5": 0.35},
        },
        "node_overlays": True,
    }
    loaded = parse_profile(item, source="test")
    assert loaded.requirements.on_demand_discounts.to_dict() == {"aws/g5": 0.35}
    [docs] = generate_karpenter(
        market(), [loaded], now=NOW, crds=crds, discounts=parse_discounts({"aws": 0.2})
    )
    adjustments = {
        _values(o, "node.kubernetes.io/instance-type")[0]: o["spec"]["priceAdjustment"]
        for o in _on_demand_overlays(docs)
    }
    assert adjustments["g5.xlarge"] == "-35%", "the profile's family rule"
    assert adjustments["g4dn.xlarge"] == "-20%", "the settings' cloud rule still applies"


def test_a_bad_rule_in_a_profile_names_the_profile_and_the_field() -> None:
    item = {
        "name": "p",
        "requirements": {"regions": ["us-east-1"], "on_demand_discounts": {"aws": 1.5}},
    }
    with pytest.raises(ProfileError, match=r"profile 'p': requirements\.on_demand_discounts: aws"):
        parse_profile(item, source="test")


def test_requirements_text_form_is_accepted_in_a_profile() -> None:
    item = {"name": "p", "requirements": {"regions": "us-east-1", "on_demand_discounts": "aws=0.2"}}
    assert (
        parse_profile(item).requirements.on_demand_discounts
        == parse_requirements({"on_demand_discounts": {"aws": 0.2}}).on_demand_discounts
    )
