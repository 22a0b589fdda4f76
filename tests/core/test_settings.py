"""Settings: defaults, environment, config file, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import MAX_SCHEDULE_MINUTES, MIN_SCHEDULE_MINUTES, load_settings


def test_default_database_is_sqlite_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPOTSEL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("spotsel/spotsel.db")


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_DATABASE_URL", "postgresql+psycopg://u@db/spotsel")
    monkeypatch.setenv("SPOTSEL_SIM_SCALE", "4")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u@db/spotsel"
    assert settings.sim_scale == 4


def test_config_file_is_read_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "spotsel.toml"
    config.write_text('[spotsel]\nsim_seed = 99\ndatabase_url = "sqlite:////tmp/from-file.db"\n')
    monkeypatch.setenv("SPOTSEL_CONFIG", str(config))
    monkeypatch.setenv("SPOTSEL_DATABASE_URL", "sqlite:////tmp/from-env.db")
    settings = load_settings()
    assert settings.sim_seed == 99
    assert settings.database_url == "sqlite:////tmp/from-env.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"SPOTSEL_DATABASE_URL": "mysql://x"}, "SPOTSEL_DATABASE_URL",
                     id="unsupported database scheme"),
        pytest.param({"SPOTSEL_SIM_SCALE": "0"}, "SPOTSEL_SIM_SCALE", id="scale below one"),
        pytest.param({"SPOTSEL_CONFIG": "/nonexistent/spotsel.toml"}, "does not exist",
                     id="named config file missing"),
    ],
)  # fmt: skip
def test_bad_settings_are_one_line_errors(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("schedule", "shown"),
    [
        pytest.param('{"sim": 0}', "0.0", id="zero ran a source back to back"),
        pytest.param('{"sim": -5}', "-5.0", id="negative silently never ran again"),
        pytest.param('{"sim": NaN}', "nan", id="NaN crashed the scheduler"),
        pytest.param('{"sim": Infinity}', "inf", id="infinity never runs"),
        pytest.param('{"sim": "inf"}', "inf", id="infinity as text"),
        pytest.param('{"sim": 0.001}', "0.001", id="under a second is a typo"),
        pytest.param('{"sim": 20160}', "20160.0", id="over a week is a unit mistake"),
        pytest.param('{"aws": 60, "sim": 1e400}', "inf", id="one bad source among good ones"),
    ],
)  # fmt: skip
def test_schedule_intervals_are_positive_finite_and_bounded(
    schedule: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_SCHEDULE", schedule)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "SPOTSEL_SCHEDULE" in message
    assert "'sim'" in message, "names the source"
    assert f"interval {shown}:" in message, "and the value"
    assert "\n" not in message


@pytest.mark.parametrize(
    "minutes",
    [
        pytest.param(0.5, id="the acceptance scenario's half minute"),
        pytest.param(MIN_SCHEDULE_MINUTES, id="one second"),
        pytest.param(MAX_SCHEDULE_MINUTES, id="one week"),
    ],
)
def test_schedule_accepts_fractional_minutes_within_bounds(
    minutes: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_SCHEDULE", json.dumps({"sim": minutes}))
    assert load_settings().schedule == {"sim": minutes}


@pytest.mark.parametrize(
    ("value", "level"),
    [
        pytest.param(None, "WARNING", id="default"),
        pytest.param("info", "INFO", id="any case"),
        pytest.param(" DEBUG ", "DEBUG", id="padded"),
    ],
)
def test_log_level_is_read_and_normalised(
    value: str | None, level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    if value is None:
        monkeypatch.delenv("SPOTSEL_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("SPOTSEL_LOG_LEVEL", value)
    assert load_settings().log_level == level


@pytest.mark.parametrize("value", ["loud", "", "10", "WARN"])
def test_unknown_log_levels_are_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_LOG_LEVEL", value)
    with pytest.raises(ConfigError, match="SPOTSEL_LOG_LEVEL") as info:
        load_settings()
    assert "\n" not in str(info.value)
