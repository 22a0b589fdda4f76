"""Every command of the README's Commands table, given bad input, as a user runs it.

Each case runs the installed `spotsel` in a fresh workspace (a copy of a migrated store holding
the simulated market) and checks: exit code not 0, exactly one line on stderr and nothing on
stdout, no traceback, and nothing written — no table gains or loses a row (so no collection run
is recorded) and no file appears or changes. A coverage test ties the cases to the table, so a
new documented command needs a bad-input case here.

SQLite only: argument and settings checks run before the engine matters, and engine-specific
errors (unreachable server, missing schema) have their own tests on both engines.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collectors import CollectContext, get_source
from collectors.runner import run_source
from core import migrate
from core.clock import utcnow
from core.db import make_engine
from core.settings import Settings
from tests.outputs.helpers import REPO

# Every documented command started as a process with bad input: minutes in all.
pytestmark = pytest.mark.slow

SPOTSEL = Path(sys.executable).with_name("spotsel")
README = REPO / "README.md"
PROFILES = str(REPO / "examples" / "profiles.yaml")
# Replaced in argv and env by the case's workspace directory.
WS = "<ws>"
LT = "lt-0123456789abcdef0"
EVENT_TEMPLATE = str(
    REPO.parent / "shared" / "data" / "interruption-events" / "aws-docs-examples"
    / "eventbridge_ec2-spot-instance-interruption-warning.json"
)  # fmt: skip
SQS = "https://sqs.us-east-1.amazonaws.com/123456789012"


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    why: str = ""


CASES: list[Case] = [
    # spotsel demo
    Case(("demo", "--scale", "0"), why="scale below one (a usage error, one line too)"),
    Case(("demo", "--no-serve", "--out", f"{WS}/a-file/out"),
         why="an output folder under a file: refused before the market is loaded"),
    # spotsel db upgrade / downgrade / current
    Case(("db", "upgrade", "--revision", "9999"), why="an unknown revision (was a traceback)"),
    Case(("db", "upgrade", "--revision", "+99"), why="a relative step past head"),
    Case(("db", "downgrade", "9999"), why="an unknown downgrade target"),
    Case(("db", "downgrade", "-1"), why="a downgrade without --yes and no terminal to ask"),
    Case(("db", "downgrade", "-99", "--yes"), why="a relative step below base"),
    Case(("db", "downgrade"), why="the revision is missing"),
    Case(("db", "current"), {"SPOTSEL_DATABASE_URL": "mysql://db/x"},
         why="a database URL of an unsupported engine"),
    # spotsel collect sim
    Case(("collect", "sim", "--as-of", "2999-01-01"), why="a market time in the future"),
    Case(("collect", "sim", "--as-of", "yesterday"), why="not an ISO 8601 time"),
    Case(("collect", "sim", "--regions", "us-east-1"), why="an option of another source"),
    Case(("collect", "simm"), why="an unknown source"),
    # spotsel status
    Case(("status", "--output", "xml"), why="an unknown output format"),
    Case(("status",), {"SPOTSEL_CONFIG": f"{WS}/typo.toml"},
         why="a config file with an unknown key"),
    Case(("status",), {"SPOTSEL_SCHEDULE": "{bad"},
         why="malformed JSON in a setting (was a pydantic-settings traceback)"),
    Case(("status",), {"SPOTSEL_ON_DEMAND_DISCOUNTS": "aws=2"},
         why="an on-demand discount setting of 200 %"),
    # spotsel rank
    Case(("rank", "--regions", "us-east-7"),
         why="an unknown region (was an empty answer with exit 0)"),
    Case(("rank", "--gpu-models", "A10GG"), why="an unknown GPU model"),
    Case(("rank", "--vcpus", "16:4"), why="a range the wrong way round"),
    Case(("rank", "--on-demand-discounts", "aws/us-east-1=0.2"),
         why="an on-demand discount rule with a region where the family goes"),
    Case(("rank", "--vcpus"), why="a flag without its value"),
    # spotsel collect aws
    Case(("collect", "aws", "--seed", "3"), why="an option of the simulated market"),
    Case(("collect", "aws"), {"SPOTSEL_AWS_REGIONS": '["us-east-1",'},
         why="malformed JSON regions, refused before any call to AWS"),
    # spotsel collect gcp
    Case(("collect", "gcp", "--project", "Not_A_Project!"),
         why="a malformed GCP project ID, refused before a run is recorded"),
    Case(("collect", "gcp", "--seed", "3"), why="a sim option given to the GCP source"),
    # spotsel collect azure
    Case(("collect", "azure", "--subscription", "my-subscription"),
         why="a subscription that is not a GUID, refused before a run is recorded"),
    Case(("collect", "azure", "--regions", "East US"),
         why="a display name where an ARM region name goes (it would enter an OData filter)"),
    Case(("collect", "azure", "--project", "spotsel-test"),
         why="a GCP option given to the Azure source"),
    # spotsel collect aws-advisor
    Case(("collect", "aws-advisor", "--source-url", "ftp://example.com/feed.json"),
         why="a scheme the feed is not served by"),
    Case(("collect", "aws-advisor", "--source-url", f"file://{WS}/missing.json",
          "--as-of", "2025-06-28"), why="a missing air-gapped copy"),
    Case(("collect", "aws-advisor", "--source-url", f"file://{WS}/feed.json"),
         why="an air-gapped copy without --as-of"),
    # spotsel collect aws-public
    Case(("collect", "aws-public", "--source-url", f"file://{WS}/feed.json"),
         why="a saved spot price feed without --as-of"),
    Case(("collect", "aws-public", "--source-url", f"file://{WS}/missing.js",
          "--as-of", "2021-04-06"), why="a missing saved spot price feed"),
    Case(("collect", "aws-public", "--seed", "3"), why="a sim option given to the spot price feed"),
    # spotsel collect aws-events
    Case(("collect", "aws-events"), why="no queue to drain, neither flag nor setting"),
    Case(("collect", "aws-events", "--queue-url", "arn:aws:sqs:us-east-1:123456789012:q"),
         why="a queue ARN where its URL goes"),
    Case(("collect", "aws-events"), {"SPOTSEL_AWS_EVENTS_QUEUE_URL": "https://example.com/1/q"},
         why="a queue URL setting that names no AWS region"),
    Case(("collect", "aws-events", "--queue-url", f"{SQS}/q", "--dead-letter-url", f"{SQS}/q"),
         why="a dead-letter queue that is the queue itself"),
    Case(("collect", "aws-events", "--source-url", "file:///x.json"),
         why="a feed option given to the queue source"),
    Case(("rank", "--as-of", "2999-01-01"), why="a ranking time in the future"),
    # spotsel serve
    Case(("serve",), why="auth on and no key anywhere"),
    Case(("serve", "--no-auth", "--host", "0.0.0.0"), why="an open API on the network"),
    Case(("serve", "--port", "0"), why="port out of range"),
    Case(("serve",), {"SPOTSEL_API_KEYS": "ci:read:not-a-hash"}, why="a malformed key entry"),
    Case(("serve",), {"SPOTSEL_API_GENERATE_FIRST_KEY": "true"},
         why="a first key with no file to keep it in"),
    # spotsel api-key create
    Case(("api-key", "create", "ci", "--scope", "admin"), why="an unknown scope"),
    Case(("api-key", "create", "a:b"), why="a name that breaks the entry format"),
    # spotsel scheduler
    Case(("scheduler",), {"SPOTSEL_SCHEDULE": '{"sim": 0}'}, why="an interval of zero"),
    Case(("scheduler",), {"SPOTSEL_SCHEDULE": '{"simm": 60}'}, why="an unknown source"),
    Case(("scheduler",), {"SPOTSEL_SCHEDULE": '{"sim": 60'}, why="truncated JSON"),
    # spotsel nodepools generate
    Case(("nodepools", "generate", "--profiles", f"{WS}/missing.yaml", "--out", f"{WS}/np"),
         why="a missing profiles file"),
    Case(("nodepools", "generate", "--profiles", f"{WS}/bad-region.yaml", "--out", f"{WS}/np"),
         why="a profile naming an unknown region: no empty NodePools"),
    Case(("nodepools", "generate", "--profiles", PROFILES, "--out", f"{WS}/np", "--crds",
          f"{WS}/no-crds"), why="a CRD directory that does not exist"),
    # spotsel fleet
    Case(("fleet", "--profiles", PROFILES, "--profile", "nosuch", "--target-capacity", "8",
          "--launch-template", LT, "--subnets", "subnet-a"), why="an unknown profile"),
    Case(("fleet", "--profiles", PROFILES, "--profile", "gpu-trainer", "--target-capacity", "8",
          "--launch-template", "bad template!", "--subnets", "subnet-a"),
         why="a launch template that is neither an ID nor a name"),
    Case(("fleet", "--profiles", PROFILES, "--profile", "gpu-trainer", "--target-capacity", "0",
          "--launch-template", LT, "--subnets", "subnet-a"), why="no capacity to launch"),
    # spotsel report
    Case(("report", "--week", "2026-48", "--out", f"{WS}/report"), why="a week without its W"),
    Case(("report", "--week", "2999-W01", "--out", f"{WS}/report"), why="a week still to come"),
    Case(("report", "--profiles", f"{WS}/missing.yaml", "--out", f"{WS}/report"),
         why="a missing profiles file: no files, no recorded week"),
    Case(("scheduler",), {"SPOTSEL_REPORT_SCHEDULE": "0 6 * * 8"},
         why="a report schedule naming a weekday that does not exist"),
    # spotsel events import
    Case(("events", "import", f"{WS}/no-such.json"), why="a missing events file"),
    Case(("events", "import", f"{WS}/a-file"), why="an empty file is not JSON"),
    Case(("events", "import", f"{WS}/feed.json"), why="an object of no known event format"),
    Case(("events", "import", EVENT_TEMPLATE),
         why="the AWS docs' interruption warning: its time is a placeholder"),
]  # fmt: skip


def _documented_commands() -> list[tuple[str, ...]]:
    """The commands of the README's Commands table, e.g. ("collect", "sim"), ("db", "current")."""
    section = README.read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split(" | ")[0]
        for code in re.findall(r"`([^`]+)`", first_cell):
            words = code.split()
            words = words[1:] if words[0] == "spotsel" else words
            command = []
            for word in words:
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break  # an option, a placeholder (REV, NAME) or "[...]"
                command.append(word)
            found.append(tuple(command))
    return found


def test_every_documented_command_has_a_bad_input_case() -> None:
    documented = _documented_commands()
    assert len(documented) >= 14, documented  # the table's rows, with db's three commands
    for command in documented:
        assert any(case.argv[: len(command)] == command for case in CASES), command


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store holding the simulated market, copied into each case."""
    path = tmp_path_factory.mktemp("store") / "store.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    run_source(engine, get_source("sim"), CollectContext(settings=settings, now=utcnow()))
    engine.dispose()
    return path


def _workspace(tmp_path: Path, store: Path) -> Path:
    shutil.copy(store, tmp_path / "store.db")
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "typo.toml").write_text('databse_url = "sqlite:///x.db"\n')
    (tmp_path / "feed.json").write_text("{}")
    (tmp_path / "a-file").write_text("")
    (tmp_path / "bad-region.yaml").write_text(
        "version: 1\nprofiles:\n  - name: x\n    requirements: {gpus: 1, regions: [us-east-7]}\n"
        "    nodepool: x\n    ec2nodeclass: x\n"
    )
    return tmp_path


def _environment(ws: Path, extra: dict[str, str]) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "HOME": str(ws / "home"),
        "SPOTSEL_CONFIG": str(ws / "empty.toml"),
        "SPOTSEL_DATABASE_URL": f"sqlite:///{ws / 'store.db'}",
        "SPOTSEL_DATA_DIR": str(ws / "data"),
        # No cloud is ever asked: no instance metadata, no credentials files.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(ws / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(ws / "no-aws-credentials"),
        "COLUMNS": "200",
    }
    return env | {k: v.replace(WS, str(ws)) for k, v in extra.items()}


def _table_rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _files(ws: Path) -> dict[str, tuple[int, int]]:
    # SQLite's WAL and shared-memory files come and go with any reader: not "written".
    return {
        str(p.relative_to(ws)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in ws.rglob("*")
        if not p.name.startswith("store.db")
    }


@pytest.mark.parametrize("case", CASES, ids=[c.why for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(case: Case, store: Path, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, store)
    rows, files = _table_rows(ws / "store.db"), _files(ws)
    result = subprocess.run(
        [str(SPOTSEL), *(arg.replace(WS, str(ws)) for arg in case.argv)],
        env=_environment(ws, case.env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    shown = f"{case.argv}: stdout={result.stdout!r} stderr={result.stderr!r}"
    assert result.returncode != 0, shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    assert result.stdout == "", shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1, shown
    assert lines[0].startswith("spotsel: error: "), shown
    assert _table_rows(ws / "store.db") == rows, "the store changed"
    assert _files(ws) == files, "files were written"


def test_an_exit_code_a_command_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not standalone, click returns `typer.Exit(2)` (`nodepools generate --diff`): kept."""
    from spotsel import cli

    monkeypatch.setattr(cli, "app", lambda **_: 2)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2


def test_no_command_still_shows_the_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotsel import cli

    monkeypatch.setattr(sys, "argv", ["spotsel"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    assert "Commands:" in capsys.readouterr().err
