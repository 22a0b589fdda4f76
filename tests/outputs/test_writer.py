"""YAML files: golden rendering, atomic writes, stale-file removal, the diff."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from outputs.writer import HEADER, diff_files, render_files, write_files
from selector.outputs import KarpenterDocuments
from tests.outputs.helpers import fixed_documents
from tests.selector.outputs.fixtures import assert_golden


def test_render_golden_and_round_trip() -> None:
    docs = fixed_documents()
    files = render_files([docs])
    assert sorted(files) == [
        "gpu-trainer.nodeoverlays.yaml", "gpu-trainer.nodepools.yaml", "gpu-trainer.workload.yaml"
    ]  # fmt: skip
    for name, text in files.items():
        assert text.startswith(HEADER)
        assert_golden(f"files/{name}", text)
    assert list(yaml.safe_load_all(files["gpu-trainer.nodepools.yaml"])) == list(docs.nodepools)
    no_overlays = render_files([fixed_documents(node_overlays=False)])
    assert "gpu-trainer.nodeoverlays.yaml" not in no_overlays


def test_write_then_diff_is_empty(tmp_path: Path) -> None:
    files = render_files([fixed_documents()])
    assert {c.subject for c in diff_files(tmp_path, files)} >= {"NodePool gpu-trainer-spot"}
    written = write_files(tmp_path / "out", files)
    assert sorted(p.name for p in written) == sorted(files)
    assert diff_files(tmp_path / "out", files) == []
    assert not list((tmp_path / "out").glob(".*.tmp")), "no temp files left behind"


def _with_types(docs: KarpenterDocuments, types: list[str], weight: int) -> KarpenterDocuments:
    pools = copy.deepcopy(list(docs.nodepools))
    pools[0]["spec"]["template"]["spec"]["requirements"][1]["values"] = types
    pools[0]["spec"]["template"]["spec"]["requirements"][1]["minValues"] = 2
    pools[0]["spec"]["weight"] = weight
    return KarpenterDocuments(docs.profile, tuple(pools), docs.overlays, docs.workload)


def test_diff_reports_types_zones_weights(tmp_path: Path) -> None:
    docs = fixed_documents()
    write_files(tmp_path, render_files([docs]))
    changed = _with_types(docs, ["g4dn.xlarge", "g6e.xlarge"], 70)
    pools = copy.deepcopy(list(changed.nodepools))
    pools[0]["spec"]["template"]["spec"]["requirements"][2]["values"] = ["us-east-1a"]
    changed = KarpenterDocuments(docs.profile, tuple(pools), docs.overlays, docs.workload)
    details = [str(c) for c in diff_files(tmp_path, render_files([changed]))]
    assert "NodePool gpu-trainer-spot: types added: g6e.xlarge" in details
    assert "NodePool gpu-trainer-spot: types removed: g5.xlarge, g6.xlarge, p3.2xlarge" in details
    assert "NodePool gpu-trainer-spot: zones removed: us-east-1b, us-east-1c" in details
    assert "NodePool gpu-trainer-spot: weight 80 -> 70" in details


def test_diff_and_write_handle_removed_profiles(tmp_path: Path) -> None:
    write_files(tmp_path, render_files([fixed_documents()]))
    (tmp_path / "mine.yaml").write_text("not ours\n")
    other = render_files([fixed_documents(name="other", nodepool="other", node_overlays=False)])
    subjects = {str(c) for c in diff_files(tmp_path, other)}
    assert "NodePool gpu-trainer-spot: removed" in subjects
    assert "NodePool other-spot: added" in subjects
    write_files(tmp_path, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*other, "mine.yaml"])


def test_write_failure_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot create output directory"):
        write_files(blocker / "out", {"a.nodepools.yaml": HEADER})
