"""The "Change since last week" numbers on the controlled week (tests/outputs/report/dataset.py),
on both engines: the node split per pool, the weekly cost, the recommended pools' price and
hazard and the verdict against a stored previous recommendation, and older stored layouts."""

from __future__ import annotations

import copy
from html import escape
from typing import Any

import pytest
from sqlalchemy import Engine

from outputs.report import ReportDocuments, build_week_report, fmt, generate_report
from outputs.report.sections import NOT_RECORDED, SAME_SPLIT
from selector.outputs.report_model import ProfileReport
from tests.outputs.report import dataset as ds

LAST_WEEK = str(ds.WEEK.previous())


@pytest.fixture
def week_engine(engine: Engine) -> Engine:
    ds.load_week(engine)
    return engine


def _docs(engine: Engine, previous: Any = None) -> ReportDocuments:
    return generate_report(
        engine, week=ds.WEEK, profiles=[ds.profile()], now=ds.REPORT_NOW, previous=previous
    )


def _profile(engine: Engine, previous: Any) -> ProfileReport:
    report = build_week_report(
        engine, week=ds.WEEK, profiles=[ds.profile()], now=ds.REPORT_NOW, previous=previous
    )
    [profile] = report.profiles
    return profile


def _previous(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    """This week's own recommendation, relabelled as last week's, and its profile entry."""
    previous = copy.deepcopy(_docs(engine).recommendations)
    previous["week"] = LAST_WEEK
    return previous, previous["profiles"][ds.PROFILE_NAME]


def _section(docs: ReportDocuments) -> str:
    return docs.markdown.split("### Change since last week", 1)[1].split("\n### ", 1)[0]


def test_a_different_node_split_shows_the_moved_nodes(week_engine: Engine) -> None:
    previous, entry = _previous(week_engine)
    assert previous["version"] == 2
    carrying = [p for p in entry["pools"] if p["nodes"] > 0]
    assert len(carrying) >= 2, "min_instance_types 2: the nodes sit in two pools at least"
    gave, took = carrying[0], carrying[1]
    gave["nodes"] += 1  # last week one more node here, one fewer there
    took["nodes"] -= 1
    numbers = _profile(week_engine, previous).diff.numbers
    assert numbers is not None
    assert numbers.split_recorded
    moved = {(m.key.instance_type, m.key.zone_id): (m.before, m.after) for m in numbers.moves}
    assert moved == {
        (gave["instance_type"], gave["zone_id"]): (gave["nodes"], gave["nodes"] - 1),
        (took["instance_type"], took["zone_id"]): (took["nodes"], took["nodes"] + 1),
    }
    docs = _docs(week_engine, previous)
    pool = f"nodes in {gave['instance_type']} in {gave['zone_id']}"
    row = f"| {pool} | {gave['nodes']} | {gave['nodes'] - 1} | moved, −1 |"
    assert row in _section(docs)
    assert escape(pool) in docs.html
    assert "<td>moved, −1</td>" in docs.html
    # The pool that took the node had none last week when it held one node: then it was added.
    took_change = "added, +1" if took["nodes"] == 0 else "moved, +1"
    assert f"<td>{took_change}</td>" in docs.html
    assert SAME_SPLIT not in docs.markdown


def test_a_pool_dropped_from_the_split_is_listed(week_engine: Engine) -> None:
    previous, entry = _previous(week_engine)
    entry["pools"].append(
        {"instance_type": "p3.2xlarge", "zone_id": "use1-az9", "nodes": 2, "price": 1.0}
    )
    row = "| nodes in p3.2xlarge in use1-az9 | 2 | 0 | dropped, −2 |"
    assert row in _section(_docs(week_engine, previous))


def test_a_cost_change_has_its_sign_and_percentage(week_engine: Engine) -> None:
    previous, entry = _previous(week_engine)
    effective, on_demand = entry["cost"]["effective"], entry["cost"]["on_demand"]
    assert effective
    assert on_demand
    entry["cost"]["effective"] = effective / 1.25  # now 25 % dearer than last week
    entry["cost"]["on_demand"] = on_demand * 2  # now half of last week's
    numbers = _profile(week_engine, previous).diff.numbers
    assert numbers is not None
    assert numbers.spot.change == pytest.approx(0.25)
    assert numbers.on_demand.change == pytest.approx(-0.5)
    docs = _docs(week_engine, previous)
    spot_row = (
        f"| weekly cost, spot (effective) | {fmt.money(effective / 1.25)} | "
        f"{fmt.money(effective)} | +{fmt.money(effective - effective / 1.25)} (+25.0 %) |"
    )
    od_row = (
        f"| weekly cost, on-demand | {fmt.money(on_demand * 2)} | {fmt.money(on_demand)} | "
        f"−{fmt.money(on_demand)} (−50.0 %) |"
    )
    section = _section(docs)
    assert spot_row in section
    assert od_row in section
    assert "(+25.0 %)" in docs.html
    assert "(−50.0 %)" in docs.html


def test_the_same_split_still_shows_cost_and_prices(week_engine: Engine) -> None:
    previous, entry = _previous(week_engine)
    old = entry["pools"][0]
    old["price"] *= 0.5  # last week half of today's price: +100 %
    section = _section(_docs(week_engine, previous))
    assert f"- {SAME_SPLIT}" in section
    assert "| weekly cost, spot (effective) |" in section
    assert f"| spot price, {old['instance_type']} in {old['zone_id']} |" in section
    assert "+100.0 % |" in section
    assert "| hazard, " not in section  # no hazard moved: one line says so
    assert "pools still recommended | same | same | unchanged |" in section
    assert NOT_RECORDED not in section
    assert "| verdict |" not in section  # the verdict held


def test_a_flipped_verdict_is_shown(week_engine: Engine) -> None:
    previous, entry = _previous(week_engine)
    now = entry["spot_pays_off"]
    assert isinstance(now, bool)
    entry["spot_pays_off"] = not now
    labels = {True: "spot pays off", False: "use on-demand"}
    row = f"| verdict | {labels[not now]} | {labels[now]} | flipped |"
    assert row in _section(_docs(week_engine, previous))


def test_an_old_stored_layout_still_renders(week_engine: Engine) -> None:
    previous, entry = _previous(week_engine)
    # Version 1 kept the pools' nodes and prices, not hazards, cost or verdict.
    v1 = copy.deepcopy(previous)
    v1["version"] = 1
    v1_entry = v1["profiles"][ds.PROFILE_NAME]
    for key in ("cost", "spot_pays_off"):
        del v1_entry[key]
    for pool in v1_entry["pools"]:
        del pool["hazard"]
    cheaper = v1_entry["pools"][0]
    cheaper["price"] *= 0.5
    docs = _docs(week_engine, v1)
    section = _section(docs)
    assert f"- {SAME_SPLIT}" in section
    assert f"| weekly cost, spot (effective) | {NOT_RECORDED} |" in section
    assert f"| hazard of the recommended pools | {NOT_RECORDED} |" in section
    assert f"| verdict | {NOT_RECORDED} |" in section
    # Version 1 prices still compare.
    assert f"| spot price, {cheaper['instance_type']} in {cheaper['zone_id']} |" in section
    assert "+100.0 % |" in section
    assert NOT_RECORDED in docs.html
    # Before version 1: types and zones only, no version key.
    bare = {
        "week": LAST_WEEK,
        "profiles": {
            ds.PROFILE_NAME: {"instance_types": entry["instance_types"], "zones": entry["zones"]}
        },
    }
    docs = _docs(week_engine, bare)
    section = _section(docs)
    assert f"- Node split: {NOT_RECORDED}." in section
    assert f"| node split | {NOT_RECORDED} | 4 nodes |" in section
    assert "| spot price, " not in section  # no pool recorded, nothing to compare
    assert "Unchanged: the same instance types and zones as last week." in section
    assert escape(f"Node split: {NOT_RECORDED}.") in docs.html
