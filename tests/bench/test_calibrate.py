"""bench/calibrate.py: the fit functions on arrays with known answers, then on the real data.

The real-data tests compute the fit from ../shared/data and check selector/hazard.py's constants
against it: a constant that drifts from the data fails here as it fails the bench.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench import calibrate as cal
from bench.traces import DEFAULT_DATA_DIR, Trace, load_skypilot_traces
from selector import estimate_hazard, hazard

needs_data = pytest.mark.skipif(
    not (DEFAULT_DATA_DIR / "spot-availability-traces").is_dir(), reason="no ../shared/data"
)


# --- known answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "gap", "events", "hours"),
    [
        pytest.param([1, 1, 0, 1, 1, 1, 0], 3600.0, 2, 5.0, id="two 1->0 in five up-hours"),
        pytest.param([0, 0, 1, 1], 1800.0, 0, 1.0, id="a launch is not a loss"),
        pytest.param([4, 4, 2, 3, 0], 600.0, 5, 13 / 6, id="multi-node drops add up"),
        pytest.param([0, 0, 0], 30.0, 0, 0.0, id="never up"),
    ],
)
def test_rate_of_counts_losses_and_up_hours(
    values: list[int], gap: float, events: int, hours: float
) -> None:
    got = cal.rate_of(np.array(values, dtype=np.int64), gap)
    assert got[0] == events
    assert got[1] == pytest.approx(hours)


@pytest.mark.parametrize(
    ("shape", "x", "cdf"),
    [
        pytest.param(1.0, 2.0, 1.0 - math.exp(-2.0), id="exponential"),
        pytest.param(2.0, 3.0, 1.0 - math.exp(-3.0) * (1.0 + 3.0), id="shape 2 (series)"),
        pytest.param(3.0, 10.0, 1.0 - math.exp(-10.0) * (1 + 10 + 50), id="shape 3 (fraction)"),
    ],
)
def test_gamma_cdf_matches_closed_forms(shape: float, x: float, cdf: float) -> None:
    assert cal.gamma_cdf(shape, x) == pytest.approx(cdf, rel=1e-9)
    assert cal.gamma_ppf(shape, cdf) == pytest.approx(x, rel=1e-6)


def test_poisson_interval_is_the_exact_garwood_interval() -> None:
    # Zero events in T hours: the upper bound solves exp(-λT) = 5 %.
    low, high = cal.poisson_rate_interval(0, 10.0)
    assert low == 0.0
    assert high == pytest.approx(-math.log(0.05) / 10.0, rel=1e-6)
    # One event: the lower bound solves P(N >= 1) = 1 - exp(-λT) = 5 %.
    low, _ = cal.poisson_rate_interval(1, 10.0)
    assert low == pytest.approx(-math.log(0.95) / 10.0, rel=1e-6)


def test_poisson_interval_covers_the_truth_about_ninety_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    rate, hours = 0.5, 40.0
    counts = rng.poisson(rate * hours, 2000)
    covers = {int(k): cal.poisson_rate_interval(int(k), hours) for k in np.unique(counts)}
    hits = [covers[int(k)][0] <= rate <= covers[int(k)][1] for k in counts]
    assert 0.88 <= np.mean(hits) <= 0.97  # exact intervals are conservative


def test_gamma_shape_recovers_the_spread_of_simulated_pools() -> None:
    rng = np.random.default_rng(11)
    alpha, mean, hours = 3.0, 0.5, np.full(4000, 200.0)
    true = rng.gamma(alpha, mean / alpha, hours.size)
    measured = rng.poisson(true * hours) / hours
    assert cal.gamma_shape(measured, hours) == pytest.approx(alpha, rel=0.1)


def test_gamma_shape_without_real_spread_is_capped() -> None:
    # Identical rates: every difference is noise, so the prior is as strong as allowed.
    assert cal.gamma_shape(np.full(5, 0.4), np.full(5, 100.0)) == cal.MAX_SHAPE


def test_exposure_and_share_are_inverse() -> None:
    e = cal.exposure_for(0.5, 0.3)
    assert e == pytest.approx(-math.log(0.7) / 0.5)
    assert cal.share_for(0.5, e) == pytest.approx(0.3)


def test_transition_matrix_counts_pools_present_in_both() -> None:
    before = {("r", "a"): "<5%", ("r", "b"): ">20%", ("r", "c"): ">20%", ("r", "gone"): "<5%"}
    after = {("r", "a"): "<5%", ("r", "b"): ">20%", ("r", "c"): "<5%", ("r", "new"): "<5%"}
    m = cal.transition_matrix(before, after, labels=("<5%", ">20%"))
    assert m.tolist() == [[1, 0], [1, 1]]
    stay, chance, kappa = cal.agreement(m)
    assert stay == pytest.approx(2 / 3)
    # Margins: before (1/3, 2/3), after (2/3, 1/3) -> chance 2/9 + 2/9.
    assert chance == pytest.approx(4 / 9)
    assert kappa == pytest.approx((2 / 3 - 4 / 9) / (1 - 4 / 9))


def test_fit_decay_recovers_a_known_curve() -> None:
    k_inf, tau = 0.2, 300.0
    lags = [100.0, 500.0, 1500.0]
    kappas = [k_inf + (1 - k_inf) * math.exp(-d / tau) for d in lags]
    got = cal.fit_decay(lags, kappas)
    assert got[0] == pytest.approx(k_inf, abs=0.01)
    assert got[1] == pytest.approx(tau, rel=0.02)
    # 5 % of κ lost: (1 - κ∞)(1 - exp(-a/τ)) = 0.05.
    a = cal.stale_after_days(*got)
    assert (1 - got[0]) * (1 - math.exp(-a / got[1])) == pytest.approx(0.05)


def test_identical_traces_are_fitted_once(tmp_path: Path) -> None:
    values = np.array([1, 1, 0, 1], dtype=np.int64)
    twins = [
        Trace("preemption", "gcp", "us-central1", z, "c3-highcpu-88", 1, "2023-04-30", 30.0,
              values, tmp_path / z)
        for z in ("us-central1-a", "us-central1-b")
    ]  # fmt: skip
    fits = cal.fit_rates(twins, {d: {} for d in cal.ADVISOR_DATES})
    assert [f.name for f in fits] == ["2023-04-30/us-central1-a_c3-highcpu-88"]


def test_a_missing_data_dir_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cal.main(["--data-dir", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1


# --- the real data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fit() -> cal.Calibration:
    return cal.calibrate(DEFAULT_DATA_DIR)


@needs_data
def test_real_traces_are_all_in_the_top_bucket(fit: cal.Calibration) -> None:
    # The calibration of ">20%" rests on every AWS trace's type being ">20%" in 2025.
    assert len(fit.aws) == 7
    assert {f.bucket_2025 for f in fit.aws} == {">20%"}
    assert all(f.low <= f.rate <= f.high for f in fit.aws)


@needs_data
def test_gcp_is_fitted_apart_and_the_identical_files_once(fit: cal.Calibration) -> None:
    gcp_files = load_skypilot_traces(DEFAULT_DATA_DIR, kind="preemption", nodes=1)
    distinct = {t.values.tobytes() for t in gcp_files if t.cloud == "gcp"}
    assert len(fit.gcp) == len(distinct) < sum(t.cloud == "gcp" for t in gcp_files)
    assert {f.cloud for f in fit.gcp} == {"gcp"}
    assert {f.cloud for f in fit.aws} == {"aws"}


@needs_data
def test_the_top_bucket_hazard_lies_inside_the_measured_interval(fit: cal.Calibration) -> None:
    lo, hi = fit.mean_rate_interval
    assert lo <= estimate_hazard("aws-advisor", ">20%").rate <= hi
    e_lo, e_hi = fit.exposure_interval
    assert e_lo <= hazard.BUCKET_EXPOSURE_HOURS <= e_hi


@needs_data
def test_prior_shape_lies_inside_the_measured_interval(fit: cal.Calibration) -> None:
    lo, hi = fit.prior_shape_interval
    assert lo <= hazard.PRIOR_SHAPE <= hi


@needs_data
def test_ttl_is_within_the_persistence_bound(fit: cal.Calibration) -> None:
    assert fit.ttl_bound_hours >= hazard.INTERRUPTION_TTL_HOURS
    # The advisor buckets do persist beyond chance, and ">20%" most of all.
    assert all(p.kappa > 0 and p.stay > p.chance for p in fit.persistence)
    assert all(p.top_stays > p.stay for p in fit.persistence)


@needs_data
def test_zone_spread_of_one_type_is_large(fit: cal.Calibration) -> None:
    # Nine zones of p3.2xlarge probed in one window: loss rates an order of magnitude apart.
    feb = [f.rate for f in fit.availability if f.name.startswith("2023-02-15/")]
    assert len(feb) == 9
    assert cal.spread(feb) == pytest.approx(max(feb) / min(feb))
    assert cal.spread(feb) > 10


@needs_data
def test_every_hazard_constant_matches_the_fit(fit: cal.Calibration) -> None:
    drift = [c for c in cal.checks(fit) if not c.ok]
    assert drift == []


@needs_data
def test_the_check_fails_when_a_constant_drifts(
    fit: cal.Calibration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hazard, "BUCKET_EXPOSURE_HOURS", 2.0)
    assert [c.name for c in cal.checks(fit) if not c.ok] == [
        "BUCKET_EXPOSURE_HOURS",
        "GCP_EXPOSURE_HOURS (no data: = AWS)",
        "UNKNOWN_EXPOSURE_HOURS (= AWS)",
    ]


@needs_data
def test_the_check_holds_azure_to_its_documented_hour(
    fit: cal.Calibration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hazard, "AZURE_EXPOSURE_HOURS", hazard.BUCKET_EXPOSURE_HOURS)
    assert [c.name for c in cal.checks(fit) if not c.ok] == [
        "AZURE_EXPOSURE_HOURS (documented: 1 h)"
    ]


@needs_data
def test_the_bench_prints_its_fit_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cal.main(["--data-dir", str(DEFAULT_DATA_DIR)]) == 0
    out = capsys.readouterr().out
    assert "## constants to paste" in out
    assert f"BUCKET_EXPOSURE_HOURS: Final = {hazard.BUCKET_EXPOSURE_HOURS:.2f}" in out
