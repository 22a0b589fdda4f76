"""spotsel works outside the checkout: the example profiles ship inside the package, `pip install .`
(not editable) run from another directory runs the demo, and the Dockerfile installs the same way
from the same files."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from spotsel.commands.outputs import example_profiles

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# Generous: building the wheel and a first demo on a loaded 2-core CI machine.
INSTALL_TIMEOUT_SECONDS = 300
DEMO_TIMEOUT_SECONDS = 300
_COPY = re.compile(r"^COPY\s+(?P<args>.+)$", re.MULTILINE)


def _packages() -> list[str]:
    """The top-level packages pyproject.toml installs (its ``packages.find.include``)."""
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(pattern.rstrip("*") for pattern in include)


def _dockerfile_copies() -> set[str]:
    """What the Dockerfile copies from the build context."""
    sources: set[str] = set()
    for match in _COPY.finditer((REPO / "Dockerfile").read_text(encoding="utf-8")):
        *copied, _destination = match["args"].split()
        sources.update(copied)
    return sources


def test_the_packaged_profiles_are_the_documented_example() -> None:
    with example_profiles() as packaged:
        assert packaged.read_bytes() == (REPO / "examples" / "profiles.yaml").read_bytes(), (
            f"{packaged} is the package's copy of examples/profiles.yaml: change both alike"
        )


def test_every_data_file_of_a_package_is_package_data() -> None:
    """A file beside the code that pyproject.toml does not ship is missing after `pip install .`."""
    package_data: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"]["package-data"]
    unshipped = []
    for package in _packages():
        for path in sorted((REPO / package).rglob("*")):
            if not path.is_file() or path.suffix in {".py", ".pyc"} or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(REPO / package).as_posix()
            patterns = package_data.get(package, [])
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                unshipped.append(f"{package}/{relative}")
    assert not unshipped, f"add to [tool.setuptools.package-data]: {unshipped}"


def test_the_dockerfile_copies_every_package_and_installs_non_editably() -> None:
    copies = _dockerfile_copies()
    assert {"pyproject.toml", "README.md", *_packages()} <= copies
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    installs = [args.split() for args in re.findall(r"^RUN .*pip install ([^\n&]*)", text, re.M)]
    assert installs == [["--no-cache-dir", "."]], "one non-editable install of the project"


def _copy_build_context(destination: Path) -> Path:
    """The files the Dockerfile copies, and nothing else (no build/ or egg-info of the checkout)."""
    for name in sorted(_dockerfile_copies()):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            destination.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (args, result.stdout[-4000:], result.stderr[-4000:])
    return result.stdout


@pytest.mark.slow
def test_a_non_editable_install_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    """`pip install .` into a fresh venv, then `spotsel demo --no-serve` from another directory.

    Offline: the venv borrows the third-party dependencies (and the build backend) of the test's
    own environment through a .pth file, so only the project itself is installed, from a copy of
    the files the Dockerfile copies.
    """
    source = _copy_build_context(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=tmp_path,
        env=_clean_env(),
        timeout=60,
    ).strip()
    # A path line only: .pth files inside the borrowed directory (the checkout's editable
    # install) are not processed, so the checkout stays invisible.
    dependencies = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "_spotsel_test_dependencies.pth").write_text(dependencies + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed", str(source)],
        cwd=tmp_path,
        env=_clean_env(),
        timeout=INSTALL_TIMEOUT_SECONDS,
    )  # fmt: skip
    shutil.rmtree(source)  # nothing left to import from but the installed copy
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(
        [str(python), "-c", "import api, collectors, core, migrations, outputs, selector, "
         "spotsel; print('\\n'.join(m.__file__ for m in (api, collectors, core, migrations, "
         "outputs, selector, spotsel)))"],
        cwd=elsewhere,
        env=_clean_env(),
        timeout=60,
    )  # fmt: skip
    for module_file in where.split():
        assert Path(module_file).is_relative_to(purelib), module_file

    env = _clean_env() | {
        "SPOTSEL_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "SPOTSEL_DATA_DIR": str(tmp_path / "data"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    stdout = _run(
        [str(venv / "bin" / "spotsel"), "demo", "--no-serve"],
        cwd=elsewhere,
        env=env,
        timeout=DEMO_TIMEOUT_SECONDS,
    )
    assert "spot pays off" in stdout, stdout
    outputs = tmp_path / "data" / "demo-output"
    assert sorted(p.name for p in (outputs / "nodepools").glob("*.nodepools.yaml")) == [
        "cpu-batch.nodepools.yaml",
        "gpu-trainer.nodepools.yaml",
    ], "NodePools of both example profiles"
    assert (outputs / "fleet-request.json").is_file()
    [profiles] = re.findall(r"--profiles (\S+)", stdout)
    assert Path(profiles).is_relative_to(purelib), "the demo used the packaged example profiles"
    assert list(elsewhere.iterdir()) == [], "nothing written to the working directory"


def _clean_env() -> dict[str, str]:
    """The environment without anything that would point Python or spotsel at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTSEL_", "PYTHON"))}
    return env | {"SPOTSEL_CONFIG": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
