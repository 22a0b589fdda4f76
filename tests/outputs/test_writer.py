"""YAML files: golden rendering, atomic writes, file mode, stale-file removal, the diff."""

from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError
from outputs.writer import (
    FILE_MODE,
    HEADER,
    diff_files,
    render_files,
    render_workloads,
    write_atomic,
    write_files,
)
from selector.outputs import KarpenterDocuments
from tests.outputs.helpers import fixed_documents
from tests.selector.outputs.fixtures import assert_golden


def test_render_golden_and_round_trip() -> None:
    docs = fixed_documents()
    files = render_files([docs])
    assert sorted(files) == ["gpu-trainer.nodeoverlays.yaml", "gpu-trainer.nodepools.yaml"]
    workloads = render_workloads([docs])
    assert sorted(workloads) == ["gpu-trainer.workload.yaml"]
    for name, text in {**files, **workloads}.items():
        assert text.startswith(HEADER)
        assert "SIMULATED" not in text, "real data: no label"
        assert_golden(f"files/{name}", text)
    assert list(yaml.safe_load_all(files["gpu-trainer.nodepools.yaml"])) == list(docs.nodepools)
    no_overlays = render_files([fixed_documents(node_overlays=False)])
    assert "gpu-trainer.nodeoverlays.yaml" not in no_overlays


def test_manifests_directory_holds_only_kubernetes_objects() -> None:
    """Why: `kubectl apply -f DIR` fails on a snippet (no apiVersion / kind)."""
    for text in render_files([fixed_documents()]).values():
        for doc in yaml.safe_load_all(text):
            assert doc["apiVersion"].startswith("karpenter.sh/")
            assert doc["kind"] in ("NodePool", "NodeOverlay")


def test_simulated_files_say_so_on_top() -> None:
    docs = fixed_documents(simulated=True)
    files = {**render_files([docs]), **render_workloads([docs])}
    for text in files.values():
        head = text.splitlines()[:2]
        assert head[0] + "\n" == HEADER
        assert head[1].startswith("# SIMULATED DATA (sources: sim)")
        for doc in yaml.safe_load_all(text):
            metadata = doc.get("metadata") or doc["template"]["metadata"]
            assert metadata["annotations"]["spotsel.io/simulated"] == "true"


def test_write_then_diff_is_empty_and_files_are_0644(tmp_path: Path) -> None:
    files = render_files([fixed_documents()])
    assert {c.subject for c in diff_files(tmp_path, files)} >= {"NodePool gpu-trainer-spot"}
    written = write_files(tmp_path / "out", files)
    assert sorted(p.name for p in written) == sorted(files)
    assert diff_files(tmp_path / "out", files) == []
    assert not list((tmp_path / "out").glob(".*.tmp")), "no temp files left behind"
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE == 0o644, path.name


def test_file_mode_whatever_the_umask(tmp_path: Path) -> None:
    """Why: mkstemp creates 0600; the user's tools (and other users) must read the output."""
    old = os.umask(0o077)
    try:
        [path] = write_atomic(tmp_path, {"fleet-request.json": "{}\n"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


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
    pools[0]["spec"]["template"]["spec"]["requirements"][2]["values"] = ["use1-az1"]
    changed = KarpenterDocuments(docs.profile, tuple(pools), docs.overlays, docs.workload)
    details = [str(c) for c in diff_files(tmp_path, render_files([changed]))]
    assert "NodePool gpu-trainer-spot: types added: g6e.xlarge" in details
    assert "NodePool gpu-trainer-spot: types removed: g5.xlarge, g6.xlarge, p3.2xlarge" in details
    assert "NodePool gpu-trainer-spot: zones removed: use1-az2, use1-az4" in details
    assert "NodePool gpu-trainer-spot: weight 80 -> 70" in details


def test_diff_names_a_zone_requirement_left_out(tmp_path: Path) -> None:
    docs = fixed_documents()
    write_files(tmp_path, render_files([docs]))
    pools = copy.deepcopy(list(docs.nodepools))
    del pools[0]["spec"]["template"]["spec"]["requirements"][2]
    every = KarpenterDocuments(docs.profile, tuple(pools), docs.overlays, docs.workload)
    details = [str(c) for c in diff_files(tmp_path, render_files([every]))]
    assert (
        "NodePool gpu-trainer-spot: zones use1-az1, use1-az2, use1-az4 -> every zone of the region"
        in details
    )


def test_diff_reports_simulated_to_real(tmp_path: Path) -> None:
    """Why: the same spec from real data must replace the simulated-labelled files."""
    write_files(tmp_path, render_files([fixed_documents(simulated=True)]))
    details = [str(c) for c in diff_files(tmp_path, render_files([fixed_documents()]))]
    assert "NodePool gpu-trainer-spot: now built from real data" in details


def test_diff_and_write_handle_removed_profiles(tmp_path: Path) -> None:
    write_files(tmp_path, render_files([fixed_documents()]))
    (tmp_path / "mine.yaml").write_text("not ours\n")
    other = render_files([fixed_documents(name="other", nodepool="other", node_overlays=False)])
    subjects = {str(c) for c in diff_files(tmp_path, other)}
    assert "NodePool gpu-trainer-spot: removed" in subjects
    assert "NodePool other-spot: added" in subjects
    write_files(tmp_path, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*other, "mine.yaml"])


def test_old_snippets_leave_the_manifests_directory(tmp_path: Path) -> None:
    """Earlier versions wrote the workload snippet beside the NodePools: it is removed."""
    docs = fixed_documents()
    write_files(tmp_path, {**render_files([docs]), **render_workloads([docs])})
    write_files(tmp_path, render_files([docs]))
    assert not list(tmp_path.glob("*.workload.yaml"))


def test_write_failure_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot create output directory"):
        write_files(blocker / "out", {"a.nodepools.yaml": HEADER})
