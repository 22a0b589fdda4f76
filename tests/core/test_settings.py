"""Settings: defaults, environment, config file, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings


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
