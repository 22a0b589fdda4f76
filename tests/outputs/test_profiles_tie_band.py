"""Profile YAML speaks the ranking vocabulary: `cost_tie_band` included, checked the same way."""

from __future__ import annotations

import pytest

from outputs.profiles import ProfileError, parse_profiles
from selector.requirements import DEFAULT_COST_TIE_BAND


def _doc(requirements: dict[str, object]) -> dict[str, object]:
    item = {"name": "p1", "requirements": {"gpus": 1, "regions": ["us-east-1"], **requirements}}
    return {"version": 1, "profiles": [item]}


def test_a_profile_sets_the_tie_band() -> None:
    [profile] = parse_profiles(_doc({"cost_tie_band": 0.12}), source="f")
    assert profile.requirements.cost_tie_band == 0.12
    [default] = parse_profiles(_doc({}), source="f")
    assert default.requirements.cost_tie_band == DEFAULT_COST_TIE_BAND


def test_a_bad_tie_band_names_the_profile_and_field() -> None:
    with pytest.raises(ProfileError, match=r"profiles\[0\].*cost_tie_band.*<= 1"):
        parse_profiles(_doc({"cost_tie_band": 3}), source="f")
