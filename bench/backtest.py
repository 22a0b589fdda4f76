"""Backtest: does spotsel's ranking beat price-first on real data?

Run with ``.venv/bin/python bench/backtest.py [--quick] [--json] [--seeds N]``.

(i) Advisor backtest: every profile is ranked (`selector.rank`, real code, in-memory
PoolIndex) over the 2021-02-10 Spot Advisor + 2021 spot.js prices in each of the 5 priced
regions and anywhere, and the nodes placed are scored against the 2025-06-28 advisor; (i b) the
same over a fixed grid of 48 profiles, with paired-bootstrap intervals of the margins.
(ii) Trace replay: a 48 h checkpointed training job fails over along each strategy's list over
the SkyPilot 1-node availability traces, the strategies re-ranking with the fleet evidence
observed so far in the job; (ii b) the same jobs back to back, the evidence carried across
jobs. Method and assumptions: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _backtest_advisor import (
    RISKY_LABELS,
    AdvisorResult,
    Score,
    bucket_terms,
    grid_profiles,
    run_advisor_backtest,
)
from _backtest_replay import Job, JobOutcome
from _backtest_strategies import STRATEGIES
from _backtest_traces import availability, load_scenarios, run_fleets, run_replays
from traces import DEFAULT_DATA_DIR, TraceDataError

import selector.strategies as selector_strategies

BASE = "price"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned text table: first column left, the rest right."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    body = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    return "\n".join([title, line, "-" * len(line), *body, ""])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1%}"


def _signed_pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:+.1%}"


def _pp(x: float) -> str:
    return "-" if math.isnan(x) else f"{x * 100:+.1f}pp"


# --- (i) advisor ---------------------------------------------------------------------------


def _gmean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else math.nan


def advisor_summary(res: AdvisorResult) -> dict[str, Any]:
    """Per profile and pooled: cost per useful hour, risky and vanished shares, vs price."""
    out: dict[str, Any] = {"profiles": {}, "pooled": {}}
    pooled: dict[str, Score] = {s: Score() for s in STRATEGIES}
    for profile, scores in res.scores.items():
        base = scores[BASE]
        rows = {}
        for strategy, s in scores.items():
            pooled[strategy].add(s)
            rows[strategy] = {
                "nodes": s.nodes,
                "cost_per_useful_hour": s.cost_per_useful_hour,
                "cost_vs_price": s.cost_per_useful_hour / base.cost_per_useful_hour - 1.0,
                "risky_share": s.risky_share,
                "risky_vs_price_pp": s.risky_share - base.risky_share,
                "vanished_share": s.vanished_share,
                "vanished_vs_price_pp": s.vanished_share - base.vanished_share,
                "first_pick": res.first_pick[profile][strategy],
            }
        out["profiles"][profile] = rows
    base = pooled[BASE]
    for strategy, s in pooled.items():
        ratios = [r for p in res.ratios.values() for r in p.get(strategy, [])]
        out["pooled"][strategy] = {
            "nodes": s.nodes,
            "cost_vs_price_gmean": _gmean(ratios) - 1.0,
            "risky_share": s.risky_share,
            "risky_vs_price_pp": s.risky_share - base.risky_share,
            "vanished_share": s.vanished_share,
            "vanished_vs_price_pp": s.vanished_share - base.vanished_share,
        }
    return out


def advisor_diagnosis(res: AdvisorResult) -> dict[str, Any]:
    """Why effective-cost does or does not differ from price: hazard term vs tie band."""
    band = getattr(selector_strategies, "SIMILAR_COST_TOLERANCE", math.nan)
    lost = next(iter(res.lost_hours.values()))
    agree = {
        p: statistics.fmean(
            a == b for a, b in zip(picks["effective-cost"], picks[BASE], strict=True)
        )
        for p, picks in res.first_pick.items()
    }
    transitions = {}
    for label, later in sorted(res.transitions.items()):
        n = sum(later.values())
        transitions[label] = {
            "pools": n,
            "risky_2025": sum(v for k, v in later.items() if k in RISKY_LABELS) / n,
            "vanished_2025": later.get("vanished", 0) / n,
        }
    return {
        "cost_tie_band": band,
        "lost_hours": res.lost_hours,
        "bucket_terms": [
            {"label": label, "rate_per_hour": rate, "lambda_L": term}
            for label, rate, term in bucket_terms(lost)
        ],
        "first_pick_agreement_effective_vs_price": agree,
        "transitions_2021_to_2025": transitions,
    }


def print_advisor(summary: dict[str, Any], diag: dict[str, Any], res: AdvisorResult) -> None:
    print(
        f"(i) ADVISOR BACKTEST: rank on 2021-02-10, score on 2025-06-28 "
        f"({res.pools} priced pools, scopes: {', '.join(res.scopes)})\n"
    )
    headers = [
        "strategy",
        "nodes",
        "$/useful-h",
        "vs price",
        ">=15% 2025",
        "vs price",
        "vanished",
        "vs price",
    ]
    for profile, rows in summary["profiles"].items():
        print(
            _table(
                f"profile: {profile}  (L = {res.lost_hours[profile] * 60:.0f} min)",
                headers,
                [
                    [
                        s,
                        r["nodes"],
                        r["cost_per_useful_hour"],
                        _signed_pct(r["cost_vs_price"]),
                        _pct(r["risky_share"]),
                        _pp(r["risky_vs_price_pp"]),
                        _pct(r["vanished_share"]),
                        _pp(r["vanished_vs_price_pp"]),
                    ]
                    for s, r in rows.items()
                ],
            )
        )
    print(
        _table(
            "pooled over profiles (cost: geometric mean of per-decision ratios to price)",
            [
                "strategy",
                "nodes",
                "cost vs price",
                ">=15% 2025",
                "vs price",
                "vanished",
                "vs price",
            ],
            [
                [
                    s,
                    r["nodes"],
                    _signed_pct(r["cost_vs_price_gmean"]),
                    _pct(r["risky_share"]),
                    _pp(r["risky_vs_price_pp"]),
                    _pct(r["vanished_share"]),
                    _pp(r["vanished_vs_price_pp"]),
                ]
                for s, r in summary["pooled"].items()
            ],
        )
    )
    band, lost_min = diag["cost_tie_band"], next(iter(res.lost_hours.values())) * 60
    moves = diag["transitions_2021_to_2025"]
    print(
        _table(
            f"diagnosis: hazard term per 2021 bucket (L = {lost_min:.0f} min) vs the cost tie band "
            f"{band:.0%}, and what the bucket became by 2025",
            ["2021 bucket", "lambda/h", "lambda*L", "pools", ">=15% 2025", "vanished 2025"],
            [
                [
                    b["label"],
                    b["rate_per_hour"],
                    _pct(b["lambda_L"]),
                    moves.get(b["label"], {}).get("pools", 0),
                    _pct(moves.get(b["label"], {}).get("risky_2025", math.nan)),
                    _pct(moves.get(b["label"], {}).get("vanished_2025", math.nan)),
                ]
                for b in diag["bucket_terms"]
            ],
        )
    )
    rows = []
    for profile, agree in diag["first_pick_agreement_effective_vs_price"].items():
        picks = res.first_pick[profile]
        differ = [
            f"{scope}: {a.split('/')[-1]} (price {b.split('/')[-1]})"
            for scope, a, b in zip(res.scopes, picks["effective-cost"], picks[BASE], strict=True)
            if a != b
        ]
        rows.append([profile, _pct(agree), "; ".join(differ) or "-"])
    print(
        _table(
            "diagnosis: first pool per scope, effective-cost vs price",
            ["profile", "same", "where effective-cost differs"],
            rows,
        )
    )


# --- (i b) the grid, with bootstrap intervals ------------------------------------------------

# Paired bootstrap over decisions: 90 % intervals of the pooled margins against price.
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20210210


def _pooled(decisions: Sequence[dict[str, Score]], strategy: str) -> tuple[float, float]:
    """(geometric-mean cost ratio to price - 1, risky share - price's) over `decisions`."""
    ratios = []
    mine, base = Score(), Score()
    for d in decisions:
        mine.add(d[strategy])
        base.add(d[BASE])
        a, b = d[strategy].cost_per_useful_hour, d[BASE].cost_per_useful_hour
        if math.isfinite(a) and math.isfinite(b) and b > 0:
            ratios.append(a / b)
    return _gmean(ratios) - 1.0, mine.risky_share - base.risky_share


def grid_margins(res: AdvisorResult, *, draws: int = BOOTSTRAP_DRAWS) -> dict[str, Any]:
    """Per strategy: pooled cost and risk margins against price, with 90 % bootstrap bounds."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n = len(res.decisions)
    samples = [rng.integers(0, n, n) for _ in range(draws)] if n else []
    out: dict[str, Any] = {"decisions": n}
    for strategy in STRATEGIES:
        cost, risky = _pooled(res.decisions, strategy)
        boot = np.array([_pooled([res.decisions[i] for i in idx], strategy) for idx in samples])
        lo = np.quantile(boot, 0.05, axis=0) if n else (math.nan, math.nan)
        hi = np.quantile(boot, 0.95, axis=0) if n else (math.nan, math.nan)
        out[strategy] = {
            "cost_vs_price_gmean": cost,
            "cost_low": float(lo[0]),
            "cost_high": float(hi[0]),
            "risky_vs_price_pp": risky,
            "risky_low": float(lo[1]),
            "risky_high": float(hi[1]),
            "cost_worse_than_price_share": float(
                statistics.fmean(
                    d[strategy].cost_per_useful_hour > d[BASE].cost_per_useful_hour * 1.0005
                    for d in res.decisions
                )
            )
            if n
            else math.nan,
        }
    return out


def print_grid(margins: dict[str, Any], profiles: int, scopes: int) -> None:
    print(
        _table(
            f"(i b) grid: {profiles} profiles x {scopes} scopes = {margins['decisions']} "
            f"decisions with nodes placed; margins vs price with 90% paired-bootstrap intervals",
            [
                "strategy",
                "cost vs price",
                "90% interval",
                ">=15% 2025 vs price",
                "90% interval",
                "decisions dearer",
            ],
            [
                [
                    s,
                    _signed_pct(m["cost_vs_price_gmean"]),
                    f"{_signed_pct(m['cost_low'])} .. {_signed_pct(m['cost_high'])}",
                    _pp(m["risky_vs_price_pp"]),
                    f"{_pp(m['risky_low'])} .. {_pp(m['risky_high'])}",
                    _pct(m["cost_worse_than_price_share"]),
                ]
                for s in STRATEGIES
                for m in (margins[s],)
            ],
        )
    )


# --- (ii) replay ---------------------------------------------------------------------------


def _stats(outcomes: list[JobOutcome]) -> dict[str, float]:
    done = [o.completed_hours for o in outcomes]
    return {
        "jobs": float(len(outcomes)),
        "cost_per_job": statistics.fmean(o.cost for o in outcomes),
        "completion_h_median": float(np.percentile(done, 50)),
        "completion_h_p90": float(np.percentile(done, 90)),
        "interruptions": statistics.fmean(o.interruptions for o in outcomes),
        "lost_work_h": statistics.fmean(o.lost_work_hours for o in outcomes),
        "launch_failures": statistics.fmean(o.launch_failures for o in outcomes),
        "on_demand_share": statistics.fmean(o.on_demand for o in outcomes),
    }


def replay_summary(runs: dict[str, dict[str, list[JobOutcome]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"scenarios": {}, "pooled": {}}
    for name, per in runs.items():
        out["scenarios"][name] = {s: _stats(o) for s, o in per.items()}
    for strategy in STRATEGIES:
        every = [o for per in runs.values() for o in per[strategy]]
        ratios = [
            out["scenarios"][n][strategy]["cost_per_job"]
            / out["scenarios"][n][BASE]["cost_per_job"]
            for n in runs
        ]
        stats = _stats(every)
        stats["cost_vs_price_gmean"] = _gmean(ratios) - 1.0
        out["pooled"][strategy] = stats
    return out


def print_replay(
    summary: dict[str, Any], pools: list[list[object]], job: Job, every: float
) -> None:
    print(
        f"(ii) TRACE REPLAY: {job.work_hours:g} h job, "
        f"checkpoint {job.checkpoint_minutes:g} min, "
        f"restart {job.restart_minutes:g} min, final checkpoint misses the notice, on-demand "
        f"after {job.on_demand_after_hours:g} h without capacity, "
        f"a start every {every:g} h\n"
    )
    print(
        _table(
            "replay pools",
            ["scenario / zone", "spot $/h", "price source", "od $/h", "2021 bucket", "available"],
            pools,
        )
    )
    headers = [
        "strategy",
        "jobs",
        "$/job",
        "vs price",
        "done h p50",
        "p90",
        "interrupts",
        "lost work h",
        "launch fails",
        "on-demand",
    ]
    for name, per in summary["scenarios"].items():
        base = per[BASE]["cost_per_job"]
        print(
            _table(
                f"scenario: {name}",
                headers,
                [
                    [
                        s,
                        int(r["jobs"]),
                        r["cost_per_job"],
                        _signed_pct(r["cost_per_job"] / base - 1),
                        r["completion_h_median"],
                        r["completion_h_p90"],
                        r["interruptions"],
                        r["lost_work_h"],
                        r["launch_failures"],
                        _pct(r["on_demand_share"]),
                    ]
                    for s, r in per.items()
                ],
            )
        )
    print(
        _table(
            "pooled over scenarios (cost: geometric mean of per-scenario ratios to price)",
            headers,
            [
                [
                    s,
                    int(r["jobs"]),
                    "",
                    _signed_pct(r["cost_vs_price_gmean"]),
                    r["completion_h_median"],
                    r["completion_h_p90"],
                    r["interruptions"],
                    r["lost_work_h"],
                    r["launch_failures"],
                    _pct(r["on_demand_share"]),
                ]
                for s, r in summary["pooled"].items()
            ],
        )
    )


# --- (ii b) fleet that learns across jobs ----------------------------------------------------

FLEET_HEADERS = [
    "strategy",
    "jobs",
    "$/job",
    "vs price",
    "done h p50",
    "p90",
    "interrupts/job",
    "lost work h/job",
    "launch fails/job",
    "on-demand",
]


def fleet_summary(fleets: dict[str, dict[str, list[list[JobOutcome]]]]) -> dict[str, Any]:
    """As `replay_summary` over every job of every run; `jobs` = completed per run (seed mean)."""
    flat = {
        n: {s: [o for run in r for o in run] for s, r in per.items()} for n, per in fleets.items()
    }
    out = replay_summary(flat)
    for n, per in fleets.items():
        for s, r in per.items():
            out["scenarios"][n][s]["jobs"] = statistics.fmean(len(run) for run in r)
    for s in STRATEGIES:
        out["pooled"][s]["jobs"] = sum(out["scenarios"][n][s]["jobs"] for n in fleets)
    return out


def _fleet_row(strategy: str, r: dict[str, float], cost: object, vs: float) -> list[object]:
    return [
        strategy,
        r["jobs"],
        cost,
        _signed_pct(vs),
        r["completion_h_median"],
        r["completion_h_p90"],
        r["interruptions"],
        r["lost_work_h"],
        r["launch_failures"],
        _pct(r["on_demand_share"]),
    ]


def print_fleet(summary: dict[str, Any], seeds: int) -> None:
    print(
        "(ii b) FLEET THAT LEARNS ACROSS JOBS: one team runs the job back to back from the "
        "trace's start (the next job starts at the first tick after the previous one is done), "
        "every ranking sees the evidence of all earlier jobs; jobs = completed per run "
        f"(random: mean over {seeds} seeds)\n"
    )
    for name, per in summary["scenarios"].items():
        base = per[BASE]["cost_per_job"]
        rows = [
            _fleet_row(s, r, r["cost_per_job"], r["cost_per_job"] / base - 1)
            for s, r in per.items()
        ]
        print(_table(f"(ii b) fleet that learns across jobs: {name}", FLEET_HEADERS, rows))
    rows = [_fleet_row(s, r, "", r["cost_vs_price_gmean"]) for s, r in summary["pooled"].items()]
    print(
        _table(
            "(ii b) fleet that learns across jobs: pooled over scenarios "
            "(cost: geometric mean of per-scenario ratios to price)",
            FLEET_HEADERS,
            rows,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer starts and random seeds")
    parser.add_argument("--json", action="store_true", help="machine output (JSON) only")
    parser.add_argument("--seeds", type=int, default=None, help="random-strategy seeds")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 10)
    every = 72.0 if args.quick else 24.0
    if seeds < 1:
        parser.error("--seeds must be >= 1")
    job = Job()
    started = time.perf_counter()
    try:
        adv = run_advisor_backtest(args.data_dir, seeds=seeds)
        grid = grid_profiles()
        grid_res = run_advisor_backtest(args.data_dir, seeds=seeds, profiles=grid)
        scenarios = load_scenarios(args.data_dir)
        runs = run_replays(scenarios, job, every_hours=every, seeds=seeds)
        fleets = run_fleets(scenarios, job, seeds=seeds)
    except TraceDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    adv_sum, diag, rep_sum = advisor_summary(adv), advisor_diagnosis(adv), replay_summary(runs)
    fleet_sum = fleet_summary(fleets)
    margins = grid_margins(grid_res, draws=500 if args.quick else BOOTSTRAP_DRAWS)
    elapsed = time.perf_counter() - started
    if args.json:
        json.dump(
            {
                "advisor": adv_sum,
                "grid": margins,
                "diagnosis": diag,
                "replay": rep_sum,
                "fleet": fleet_sum,
                "seconds": elapsed,
                "seeds": seeds,
                "start_every_hours": every,
            },
            sys.stdout,
            indent=2,
            default=float,
        )
        print()
        return 0
    print_advisor(adv_sum, diag, adv)
    print_grid(margins, len(grid), len(grid_res.scopes))
    pools: list[list[object]] = [
        [
            f"{sc.name} / {p.record.key.zone_id}",
            p.record.spot_price or math.nan,
            sc.price_sources[p.record.key.zone_id],
            sc.on_demand_price,
            p.record.interruption_label or "-",
            _pct(availability(p)),
        ]
        for sc in scenarios
        for p in sc.pools
    ]
    print_replay(rep_sum, pools, job, every)
    print_fleet(fleet_sum, seeds)
    print(f"random: mean over {seeds} seeds; total {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
