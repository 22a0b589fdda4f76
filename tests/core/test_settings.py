"""Settings: defaults, environment, config file, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import (
    MAX_SCHEDULE_MINUTES,
    MIN_SCHEDULE_MINUTES,
    create_api_keys_file,
    load_settings,
    read_api_keys_file,
)


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


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        pytest.param("SPOTSEL_SCHEDULE", "{bad", "not valid JSON",
                     id="malformed JSON object (was a pydantic-settings traceback)"),
        pytest.param("SPOTSEL_SCHEDULE", "[60]", "JSON object of minutes per source",
                     id="valid JSON of the wrong shape says which shape"),
        pytest.param("SPOTSEL_SCHEDULE", '{"aws": "hourly"}', "(at aws)",
                     id="a bad value inside names its key"),
        pytest.param("SPOTSEL_AWS_REGIONS", '["us-east-1",', "not valid JSON",
                     id="truncated JSON list"),
        pytest.param("SPOTSEL_AWS_REGIONS", "[1, 2]", "SPOTSEL_AWS_REGIONS (at 0)",
                     id="numbers are not regions"),
        pytest.param("SPOTSEL_AWS_PLACEMENT_TYPE_SETS", '["g5.xlarge"]', "(at 0)",
                     id="a list where a list of lists belongs"),
        pytest.param("SPOTSEL_API_KEYS", "[oops", "not valid JSON", id="API keys as broken JSON"),
    ],
)  # fmt: skip
def test_malformed_json_settings_are_one_line_errors(
    name: str, value: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"invalid setting {name}"), message
    assert shown in message
    assert "\n" not in message


def test_aws_regions_also_take_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_AWS_REGIONS", " us-east-1, eu-west-1 ,")
    assert load_settings().aws_regions == ["us-east-1", "eu-west-1"]


@pytest.mark.parametrize(
    ("toml", "shown"),
    [
        pytest.param('databse_url = "sqlite:///x.db"\n', "'databse_url' (did you mean database_url",
                     id="a typo at top level names the close match"),
        pytest.param("[spotsel]\nsim_seed = 3\nshedule = {sim = 60}\n", "'shedule'",
                     id="a typo under [spotsel]"),
        pytest.param('SPOTSEL_LOG_LEVEL = "INFO"\n', "did you mean log_level",
                     id="an environment variable's name is not a key"),
        pytest.param("sim_seed = 1\n[spotsel]\nsim_seed = 2\n", "both at top level and under",
                     id="one key in two places"),
        pytest.param('spotsel = "x"\n', "'spotsel'", id="spotsel that is not a table"),
    ],
)  # fmt: skip
def test_unknown_config_file_keys_are_refused(
    toml: str, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "spotsel.toml"
    config.write_text(toml)
    monkeypatch.setenv("SPOTSEL_CONFIG", str(config))
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"config file {config}:")
    assert shown in message
    assert "\n" not in message


def _entry(name: str, scope: str = "read") -> str:
    return f"{name}:{scope}:{hashlib.sha256(name.encode()).hexdigest()}"


def test_api_keys_file_adds_to_the_environment_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"# comment\n{_entry('ci')}  # trailing comment\n\n{_entry('env')}\n")
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_API_KEYS", _entry("env"))
    monkeypatch.setenv("SPOTSEL_API_KEYS_FILE", str(keys))
    assert load_settings().api_keys == [_entry("env"), _entry("ci")], "merged, no duplicate"


def test_a_missing_api_keys_file_holds_no_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.delenv("SPOTSEL_API_KEYS", raising=False)
    monkeypatch.setenv("SPOTSEL_API_KEYS_FILE", str(tmp_path / "not-yet"))
    assert load_settings().api_keys == []


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        pytest.param("ci:read:not-a-hash\n", "line 1: entry 'ci'", id="a malformed entry"),
        pytest.param(f"{_entry('ok')}\nadmin:root:{'0' * 64}\n", "line 2: entry 'admin'",
                     id="an unknown scope on the second line"),
    ],
)  # fmt: skip
def test_a_malformed_api_keys_file_is_one_line_naming_file_and_line(
    content: str, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(content)
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_API_KEYS_FILE", str(keys))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert f"SPOTSEL_API_KEYS_FILE {keys} {shown}" in str(info.value)
    assert "\n" not in str(info.value)


def test_create_api_keys_file_never_overwrites(tmp_path: Path) -> None:
    keys = tmp_path / "secrets" / "api-keys"
    assert create_api_keys_file(keys, _entry("first", "write")) is True
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600, "hashes only, but still private"
    assert read_api_keys_file(keys) == [_entry("first", "write")]
    assert create_api_keys_file(keys, _entry("second")) is False
    assert read_api_keys_file(keys) == [_entry("first", "write")], "the first file stands"


def test_gcp_regions_take_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_GCP_REGIONS", " us-central1, europe-west4 ,")
    assert load_settings().gcp_regions == ["us-central1", "europe-west4"]
    monkeypatch.setenv("SPOTSEL_GCP_REGIONS", '["asia-east1"]')
    assert load_settings().gcp_regions == ["asia-east1"]
    # Empty: every region the project sees.
    monkeypatch.setenv("SPOTSEL_GCP_REGIONS", "")
    assert load_settings().gcp_regions == []


def test_default_gcp_regions_are_live_and_richest_in_gpus(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    """The default list is the regions with the most NVIDIA GPU types (real gcloud exports)."""
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.delenv("SPOTSEL_GCP_REGIONS", raising=False)
    regions = load_settings().gcp_regions
    folder = shared_data / "gcp-pricing"
    up = {
        name
        for name, status, *_ in (
            line.split(";") for line in _data_lines(folder / "tools_regions.csv")
        )
        if status == "UP"
    }
    gpus: dict[str, int] = {}
    for name, region in (
        line.split(";") for line in _data_lines(folder / "tools_acceleratortyperegion.csv")
    ):
        if name.startswith("nvidia-"):
            gpus[region] = gpus.get(region, 0) + 1
    assert regions
    assert len(set(regions)) == len(regions)
    assert set(regions) <= up
    fewest_in = min(gpus.get(r, 0) for r in regions)
    most_out = max(n for r, n in gpus.items() if r not in regions)
    assert fewest_in >= most_out


def _data_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines()[1:] if line.strip()]


@pytest.mark.parametrize(
    "project",
    [
        pytest.param("My_Project", id="upper case and underscore"),
        pytest.param("abc", id="shorter than 6"),
        pytest.param("1project", id="starts with a digit"),
    ],
)
def test_a_malformed_gcp_project_is_one_line(project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.setenv("SPOTSEL_GCP_PROJECT", project)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("invalid setting SPOTSEL_GCP_PROJECT"), message
    assert project in message
    assert "\n" not in message


def test_gcp_project_accepts_plain_and_domain_scoped_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.delenv("SPOTSEL_GCP_PROJECT", raising=False)
    assert load_settings().gcp_project is None  # the ADC project
    for project in ("spotsel-prod-1", "example.com:ml-team"):
        monkeypatch.setenv("SPOTSEL_GCP_PROJECT", project)
        assert load_settings().gcp_project == project


def test_gcp_is_scheduled_less_often_than_its_prices_could_change_hourly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GCP Spot prices change at most monthly: no need to poll it as often as AWS's."""
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    monkeypatch.delenv("SPOTSEL_SCHEDULE", raising=False)
    schedule = load_settings().schedule
    assert schedule["aws"] < schedule["gcp"] <= 24 * 60
