"""One settings object for the whole process, read from ``SPOTSEL_*`` and an optional file.

Precedence (highest first): explicit overrides, environment variables, the config file named by
``SPOTSEL_CONFIG`` (or ``<config dir>/config.toml`` when present), defaults.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from core.cron import parse_cron
from core.errors import ConfigError
from selector.discounts import OnDemandDiscounts, parse_discounts
from selector.errors import RequirementsError

APP_NAME = "spotsel"
ENV_PREFIX = "SPOTSEL_"
CONFIG_ENV = "SPOTSEL_CONFIG"
# API key scopes; write implies read.
API_SCOPES = ("read", "write")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# GCP project IDs: 6-30 lowercase letters, digits and hyphens, starting with a letter (GCP
# docs); older projects may carry a "domain:" prefix.
GCP_PROJECT_RE = re.compile(r"^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Azure subscription IDs are GUIDs (8-4-4-4-12 hex digits).
AZURE_SUBSCRIPTION_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# Azure region (ARM location) names: lowercase letters and digits (eastus2, swedencentral).
# They are quoted into OData filters, so nothing else may pass.
AZURE_REGION_RE = re.compile(r"^[a-z][a-z0-9]{1,62}$")
# Bounds of one SPOTSEL_SCHEDULE interval, in minutes. Under a second is a typo, not a schedule
# (0 once ran a source back to back); over a week is a unit mistake (the schedule is in minutes),
# and data that old is no use to a ranking anyway.
MIN_SCHEDULE_MINUTES = 1 / 60
MAX_SCHEDULE_MINUTES = 7 * 24 * 60
# SPOTSEL_LOG_LEVEL: the level of spotsel's own loggers (case-insensitive).
LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]
# Settings given as JSON text in the environment, and the shape each expects (quoted in the
# one-line error a malformed value gets).
JSON_SETTINGS: dict[str, str] = {
    "aws_regions": 'a JSON list such as ["us-east-1", "eu-west-1"] or us-east-1,eu-west-1',
    "aws_placement_type_sets": 'a JSON list of lists such as [["g5.xlarge", "g6.xlarge", '
    '"g4dn.xlarge"]]',
    "gcp_regions": 'a JSON list such as ["us-central1", "europe-west4"] or '
    "us-central1,europe-west4",
    "azure_regions": 'a JSON list such as ["eastus", "westeurope"] or eastus,westeurope',
    "schedule": 'a JSON object of minutes per source such as {"aws": 60, "aws-advisor": 720}',
    "on_demand_discounts": 'a JSON object such as {"aws": 0.2, "aws/p5": 0.45} or '
    "aws=0.2,aws/p5=0.45",
}


def default_data_dir() -> Path:
    """Per-user data directory (``~/.local/share/spotsel`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'spotsel.db'}"


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional TOML config file; a named file that is missing or broken is an error."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, required: bool):
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is None or (not required and not path.exists()):
            return
        try:
            self._data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        section = self._data.pop(APP_NAME, None)
        if isinstance(section, dict):  # allow top-level keys and / or a [spotsel] table
            twice = sorted(self._data.keys() & section.keys())
            if twice:
                raise ConfigError(
                    f"config file {path}: {', '.join(twice)} given both at top level and "
                    f"under [{APP_NAME}]: keep one"
                )
            self._data.update(section)
        elif section is not None:
            self._data[APP_NAME] = section  # not a table: reported as an unknown key below
        unknown = sorted(self._data.keys() - settings_cls.model_fields.keys())
        if unknown:
            raise ConfigError(f"config file {path}: {unknown_keys(unknown, settings_cls)}")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def unknown_keys(keys: list[str], settings_cls: type[BaseSettings]) -> str:
    """``unknown key 'a' (did you mean x?), 'b'``: what a config file got wrong, in one line."""
    known = sorted(settings_cls.model_fields)
    shown = []
    for key in keys:
        close = difflib.get_close_matches(key.lower().removeprefix("spotsel_"), known, n=2)
        shown.append(f"{key!r} (did you mean {' or '.join(close)}?)" if close else repr(key))
    noun = "key" if len(keys) == 1 else "keys"
    return f"unknown {noun} {', '.join(shown)}; keys are setting names such as database_url"


class Settings(BaseSettings):
    """Process-wide configuration. Build it with :func:`get_settings`, inject it elsewhere."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    data_dir: Path = Field(default_factory=default_data_dir)
    # SQLite: how long a writer waits for another writer's lock before failing.
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    # Rows per executemany batch: keeps each statement well below PostgreSQL's
    # 65,535-parameter limit and gives the progress bar something to tick on.
    write_batch_rows: int = Field(default=5_000, ge=1, le=100_000)
    # Seed and scale of the simulated market used by ``spotsel demo``.
    sim_seed: int = 7
    sim_scale: int = Field(default=1, ge=1, le=1_000)
    log_level: LogLevel = "WARNING"

    # --- AWS collectors ---
    aws_regions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1",
            "ap-northeast-1", "ap-south-1", "ap-southeast-1",
        ]
    )  # fmt: skip
    # First run of the spot price history collector looks back this far (AWS keeps 90 days).
    aws_spot_lookback_days: int = Field(default=7, ge=1, le=90)
    aws_advisor_url: str = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"
    # The public regional spot price feed (the `aws-public` source; no credentials): the legacy
    # feed behind the old EC2 spot pricing page, what spotinfo reads.
    aws_public_url: str = "http://spot-price.s3.amazonaws.com/spot.js"
    # Instance-type sets scored by get_spot_placement_scores (≥ 3 types each: AWS scores a
    # smaller set as always low). Default: the single-GPU equivalence groups.
    aws_placement_type_sets: Annotated[list[list[str]], NoDecode] = Field(
        default_factory=lambda: [
            ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"],
            ["g4dn.2xlarge", "g5.2xlarge", "g6.2xlarge"],
            ["p3.2xlarge", "g5.4xlarge", "g6.4xlarge"],
        ]
    )
    aws_placement_target_capacity: int = Field(default=1, ge=1, le=2_000_000)
    # AWS allows about 10 new placement-score configurations per account per 24 h.
    aws_placement_daily_config_limit: int = Field(default=10, ge=0, le=1_000)
    # The `aws-events` source: an SQS queue an EventBridge rule feeds with the fleet's EC2 spot
    # interruption warnings, rebalance recommendations and state changes (unset = not run).
    aws_events_queue_url: str | None = None
    # Where poison messages go, with their reason; unset = the store's fleet_events_rejected.
    aws_events_dead_letter_url: str | None = None
    # Most messages one run takes (the rest waits for the next run), and the long-polling wait
    # of each receive (SQS allows 0-20 s; 20 s means fewest empty receives).
    aws_events_max_messages: int = Field(default=1_000, ge=1, le=100_000)
    aws_events_wait_seconds: int = Field(default=20, ge=0, le=20)

    # --- GCP collector (`gcp`; credentials: Application Default Credentials) ---
    # Project whose machine-type lists are read; unset = the ADC project.
    gcp_project: str | None = None
    # Regions collected when a run names none. Default: the ten regions offering the most NVIDIA
    # GPU types (gcp-pricing/tools_acceleratortyperegion.csv, 2026-08; us-west4 ties
    # asia-south1), where a GPU ranking has pools to choose from. Empty = every region the
    # project sees (the lists are read globally either way; regions only bound what is stored).
    gcp_regions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "us-central1", "europe-west4", "us-east1", "us-east4", "us-west1",
            "asia-southeast1", "europe-west1", "asia-east1", "asia-northeast1", "us-west4",
        ]
    )  # fmt: skip

    # --- Azure collector (`azure`; credentials: DefaultAzureCredential) ---
    # Subscription whose VM sizes (and their restrictions) are read; unset = AZURE_SUBSCRIPTION_ID.
    azure_subscription: str | None = None
    # Regions collected when a run names none. Default: the ten public regions with the most
    # GPU (N-series) sizes carrying a Spot price in the SpotLake Azure snapshot of 2022-08-04
    # (spotlake/azure_spot_prices_2022-08-04.json.gz; UK South ties Australia East), where a
    # GPU ranking has pools to choose from.
    azure_regions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "southcentralus", "westeurope", "eastus", "westus2", "southeastasia",
            "northeurope", "japaneast", "eastus2", "westus3", "australiaeast",
        ]
    )  # fmt: skip
    # The public Retail Prices API (no credentials): Linux on-demand and Spot VM prices.
    azure_retail_url: str = "https://prices.azure.com/api/retail/prices"

    # --- Scheduler (`spotsel scheduler`) ---
    # Minutes between runs per source. The simulated market is not scheduled by default;
    # SPOTSEL_SCHEDULE='{"sim": 60}' schedules it (JSON object). gcp every 6 h: GCP changes a
    # Spot price at most once every 30 days (Compute Engine Spot VM pricing) and machine types
    # rarely: 6 h shows a change the same day, for four runs a day of three list calls each.
    # azure every 2 h: its eviction-rate buckets are a current value only (Resource Graph keeps
    # no history), so only frequent reads build one and keep it under /readyz's 3 h staleness;
    # Retail prices change rarely but cost a few paged GETs per region, and placement scores
    # keep to their own daily budget whatever the interval.
    schedule: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {
            "aws": 60.0, "aws-advisor": 720.0, "aws-public": 60.0, "gcp": 360.0, "azure": 120.0,
        }
    )  # fmt: skip
    # A standby scheduler retries the leader lock this often; the leader confirms it still holds
    # the lock this often (and before every run).
    scheduler_standby_seconds: float = Field(default=30.0, gt=0, le=3_600)
    # The weekly report job: a crontab expression in UTC (checked by core.cron; empty = not
    # scheduled). Monday 06:00: the ISO week has ended, the platform team's Monday not begun.
    # Each firing reports the week that ended before it.
    report_schedule: str = "0 6 * * 1"
    # Profiles the scheduled report ranks; unset = the example profiles shipped with spotsel.
    report_profiles: Path | None = None
    # Where the scheduled report also writes <week>/report.html and report.md; unset = only
    # the store (served at /v1/reports/{week}).
    report_dir: Path | None = None

    # --- API (`spotsel serve`) ---
    # Keys as `name:scope:sha256-hex-of-key` (scope read or write; write implies read), so keys
    # are hashed at rest. SPOTSEL_API_KEYS takes a comma list or a JSON list.
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # More entries, one per line (`#` comments allowed), read at start and added to api_keys:
    # a Docker / Kubernetes secret mounted as a file, or the file a first key is written to.
    # A file that does not exist yet holds no keys.
    api_keys_file: Path | None = None
    # `spotsel serve` with auth on, api_keys_file set and no key anywhere: generate one write key,
    # store its hash in api_keys_file and print the key once (docker-compose.yml sets this), so a
    # fresh deployment serves instead of refusing to start.
    api_generate_first_key: bool = False
    # False only via `spotsel serve --no-auth` (or SPOTSEL_API_AUTH=false): every route open.
    api_auth: bool = True
    # How often each API worker checks for a newly landed collection run (one cheap query).
    api_snapshot_poll_seconds: float = Field(default=5.0, gt=0, le=3_600)
    # /readyz lists a source as stale when its newest data is older than this (three missed
    # hourly runs). Reported only: stale data is the store's state, shared by every replica, so
    # it never takes a replica out of service.
    api_ready_max_data_age_seconds: float = Field(default=3 * 3_600.0, gt=0)
    # Identical recommendation requests within one snapshot generation share an answer for at
    # most this long (signal ages in the answer drift by at most this much).
    api_response_cache_size: int = Field(default=512, ge=0, le=100_000)
    api_response_cache_ttl_seconds: float = Field(default=30.0, ge=0, le=3_600)
    # Largest request body the API accepts; larger is answered 413 before it is read. Real
    # bodies are a few KiB (a profile with its requirements); 1 MiB bounds memory per request.
    api_max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=64 * 1_048_576)
    # A request body must arrive in full within this long, else 408 and the connection closes:
    # a half-sent body cannot hold a connection (and its buffer) open.
    api_body_read_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # Connections one server process holds at once; past it the server answers 503 at once.
    # Each may buffer up to api_max_body_bytes, so 256 x 1 MiB keeps a process within the
    # deploy manifest's 1 Gi even when every connection sends a near-limit body slowly.
    api_max_connections: int = Field(default=256, ge=1, le=100_000)

    # --- Ranking ---
    # The deployment's on-demand discounts (Savings Plans, RIs, negotiated rates) as rules
    # cloud[/region]/family -> fraction off list (`selector.discounts`). Every ranking, REST
    # answer and generated output starts from them; a request's or profile's own
    # `on_demand_discounts` overrides them rule by rule (same key), the rest still apply.
    on_demand_discounts: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)

    # --- Outputs (NodePools, Fleet / ASG requests) ---
    # Directory holding the cluster's Karpenter CRD YAML files (karpenter.sh_nodepools.yaml,
    # karpenter.sh_nodeoverlays.yaml); unset = only the built-in structural check.
    karpenter_crds_dir: Path | None = None
    # Account whose zone ID -> zone name map turns zone IDs into NodePool zone names; unset =
    # the only AWS account in the `zones` table (the simulated market writes "sim-account").
    outputs_aws_account: str | None = None

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if not scheme.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "must start with sqlite:/// or postgresql+psycopg:// "
                f"(got {value.split('://', 1)[0] or value!r})"
            )
        return value

    @field_validator(*JSON_SETTINGS, mode="before")
    @classmethod
    def _json_text(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value  # from the config file or an override: already structured
        text = value.strip()
        if info.field_name in ("aws_regions", "gcp_regions", "azure_regions") and not (
            text.startswith("[")
        ):
            return [part.strip() for part in text.split(",") if part.strip()]
        if info.field_name == "on_demand_discounts" and not text.startswith("{"):
            return _discount_rules(text)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg}, column {exc.colno})") from None

    @field_validator("gcp_project")
    @classmethod
    def _gcp_project_id(cls, value: str | None) -> str | None:
        if value is not None and not GCP_PROJECT_RE.match(value):
            raise ValueError(
                f"{value[:64]!r} is not a GCP project ID (6-30 lowercase letters, digits, hyphens)"
            )
        return value

    @field_validator("azure_subscription")
    @classmethod
    def _azure_subscription_id(cls, value: str | None) -> str | None:
        if value is not None and not AZURE_SUBSCRIPTION_RE.fullmatch(value):
            raise ValueError(f"{value[:64]!r} is not an Azure subscription ID (a GUID)")
        return value

    @field_validator("azure_regions")
    @classmethod
    def _azure_region_names(cls, value: list[str]) -> list[str]:
        for region in value:
            if not AZURE_REGION_RE.fullmatch(region):
                raise ValueError(
                    f"{region[:64]!r} is not an Azure region name (lowercase letters and digits)"
                )
        return value

    @field_validator("schedule")
    @classmethod
    def _bounded_intervals(cls, value: dict[str, float]) -> dict[str, float]:
        for source, minutes in value.items():
            if not MIN_SCHEDULE_MINUTES <= minutes <= MAX_SCHEDULE_MINUTES:  # NaN fails both
                raise ValueError(
                    f"source {source!r} has interval {minutes!r}: give minutes from "
                    f"{MIN_SCHEDULE_MINUTES:.4f} (1 s) to {MAX_SCHEDULE_MINUTES} (7 days)"
                )
        return value

    @field_validator("report_schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return parse_cron(value).text if value.strip() else ""

    @field_validator("on_demand_discounts")
    @classmethod
    def _discount_rules_valid(cls, value: dict[str, float]) -> dict[str, float]:
        return _discount_rules(value)

    @property
    def discounts(self) -> OnDemandDiscounts:
        """`on_demand_discounts` as the selector's rules (validated when settings load)."""
        return parse_discounts(self.on_demand_discounts)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not valid JSON ({exc.msg}, column {exc.colno})") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _key_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            check_key_entry(entry)
        return value

    @model_validator(mode="after")
    def _keys_from_file(self) -> Settings:
        if self.api_generate_first_key and self.api_keys_file is None:
            raise ValueError(
                "SPOTSEL_API_GENERATE_FIRST_KEY needs SPOTSEL_API_KEYS_FILE: the file that keeps "
                "the generated key's hash"
            )
        if self.api_keys_file is not None:
            extra = read_api_keys_file(self.api_keys_file)
            self.api_keys = list(dict.fromkeys([*self.api_keys, *extra]))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        named = os.environ.get(CONFIG_ENV)
        path = Path(named) if named else default_config_file()
        file_source = _TomlFileSource(settings_cls, path, required=bool(named))
        return (init_settings, env_settings, file_source)


def _discount_rules(value: object) -> dict[str, float]:
    """Rules in canonical form (`selector.discounts`); a bad rule is the selector's message."""
    try:
        return parse_discounts(value).to_dict()
    except RequirementsError as exc:
        raise ValueError(exc.reason) from None


def check_key_entry(entry: str) -> None:
    """Refuse an API key entry that is not ``name:scope:sha256-hex`` (naming only its name)."""
    parts = entry.split(":")
    if (
        len(parts) != 3
        or not parts[0]
        or parts[1] not in API_SCOPES
        or not _SHA256_HEX.fullmatch(parts[2])
    ):
        shown = parts[0] if parts and parts[0] else "?"
        raise ValueError(
            f"entry {shown!r} must be name:scope:sha256-hex (scope read or write); "
            "create one with `spotsel api-key create NAME`"
        )


def read_api_keys_file(path: Path) -> list[str]:
    """The entries of an API keys file: one per line (or comma-separated), ``#`` comments.

    A file that does not exist holds no keys (the first key may be generated into it); one
    that cannot be read, or holds a malformed entry, is an error naming the file and line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"SPOTSEL_API_KEYS_FILE {path} cannot be read: {reason}") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        for part in line.split("#", 1)[0].split(","):
            if part.strip():
                try:
                    check_key_entry(part.strip())
                except ValueError as exc:
                    raise ValueError(f"SPOTSEL_API_KEYS_FILE {path} line {number}: {exc}") from None
                entries.append(part.strip())
    return entries


def create_api_keys_file(path: Path, entry: str) -> bool:
    """Write ``entry`` as the only key of a new file at ``path`` (mode 0600).

    Returns False, writing nothing, when the file exists already: another process got there
    first, and its keys stand.
    """
    check_key_entry(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(
            "# spotsel API keys: one name:scope:sha256 entry per line (hashes, not keys).\n"
            "# `spotsel api-key create NAME` prints another entry to add here.\n"
            f"{entry}\n"
        )
    return True


def _problem(error: Any) -> str:
    """One line for a pydantic error: the variable, where inside it, what is wrong."""
    loc = [str(p) for p in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:
        return f"invalid settings: {message}"
    name = f"{ENV_PREFIX}{loc[0].upper()}"
    where = f" (at {'.'.join(loc[1:])})" if loc[1:] else ""
    shape = JSON_SETTINGS.get(loc[0])
    hint = f"; expected {shape}" if shape and not loc[1:] else ""
    return f"invalid setting {name}{where}: {message}{hint}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation problems into one clear :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_problem(exc.errors()[0])) from exc
    except SettingsError as exc:  # a value the environment source could not even read
        raise ConfigError(f"invalid setting: {str(exc).splitlines()[0]}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, built once."""
    return load_settings()
