"""The benchmark harness still runs: embedded Cairn and the limits, at a tiny scale.

Peers (MLflow, DVC, W&B) and server targets are not run here; this only keeps the harness,
the workload generator wiring and the JSON shape from rotting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest.importorskip("psutil", reason="the benchmark harness needs psutil (the bench extra)")
pytest.importorskip("rich")


def _make_data() -> Path:
    return Path(
        os.environ.get("CAIRN_BENCH_MAKE_DATA", REPO.parent / "shared" / "bench" / "make_data.py")
    )


@pytest.mark.slow
def test_quick_run_writes_expected_rows(tmp_path: Path) -> None:
    if not _make_data().is_file():
        pytest.skip(f"workload generator not found at {_make_data()}")
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env["CAIRN_BENCH_MAKE_DATA"] = str(_make_data())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--scale",
            "0.002",
            "--workloads",
            "w1,w3",
            "--targets",
            "cairn-embedded,limits",
            "--data",
            str(tmp_path / "bench"),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["meta"]["quick"] is True and doc["meta"]["runs"] == 1
    rows = {(r["target"], r["workload"], r["op"]): r for r in doc["rows"]}
    expected = [
        *(
            ("cairn-embedded", "w1", op)
            for op in ("log", "relog", "download_cold", "download_warm", "verify")
        ),
        ("cairn-embedded", "w3", "log_incr"),
        *(("limits", "machine", op) for op in ("md5_1core", "xxh128_1core", "md5_2core")),
        *(("limits", "w1", op) for op in ("cp_r", "tar", "stat")),
    ]
    for key in expected:
        assert key in rows, f"missing row {key}"
        assert rows[key]["status"] == "ok", rows[key]
        assert rows[key]["seconds"] >= 0
    log = rows[("cairn-embedded", "w1", "log")]
    assert log["client_rss"] > 0
    assert log["blobs_added"] == log["files"] + 1  # every file, and the manifest
    assert log["extra"]["data_files_opened"] > 0
    assert rows[("cairn-embedded", "w1", "relog")]["blobs_added"] == 0
    incr = rows[("cairn-embedded", "w3", "log_incr")]
    assert incr["blobs_added"] == incr["extra"]["expected_changed"] + 1
    checks = {(c["target"], c["check"]): c for c in doc["checks"]}
    assert (
        checks[("cairn-embedded", "W3 after W1 uploads only the changed blobs")]["status"] == "PASS"
    )
    assert all(c["status"] in ("PASS", "MISS", "N/A") for c in doc["checks"])
    assert "cairn-embedded" in proc.stdout  # the table was printed
    assert not (tmp_path / "bench" / "state").exists()  # per-run stores are cleaned up

    # Two runs merge into one report: a peer measured in another run counts in the ratios.
    peer = {**doc, "rows": [{**log, "target": "dvc", "seconds": log["seconds"] * 4}]}
    (tmp_path / "peer.json").write_text(json.dumps(peer))
    merged_out = tmp_path / "merged.json"
    argv = [str(out), str(tmp_path / "peer.json"), "--out", str(merged_out)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    merged = json.loads(merged_out.read_text())
    assert len(merged["rows"]) == len(doc["rows"]) + 1
    vs_dvc = {(c["target"], c["check"]): c for c in merged["checks"]}[
        ("cairn-embedded", "W1 log ≥3x DVC add+push")
    ]
    assert (vs_dvc["status"], vs_dvc["value"]) == ("PASS", "4.0x"), vs_dvc


def test_lineage_and_diff_benchmark_runs_tiny(tmp_path: Path) -> None:
    """The issue-16 benchmark (lineage on a layered graph, diff of two big versions) at a tiny
    size on SQLite: every operation runs and finds what the workload built."""
    out = tmp_path / "graph.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    argv = ["--quick", "--db", "sqlite", "--nodes", "100", "--entries", "2000", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.lineage_diff", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {r["op"]: r for r in json.loads(out.read_text())["rows"]}
    lineage = rows["lineage"]
    assert lineage["nodes"] == lineage["size"]["nodes"]  # downstream of the root is everything
    assert lineage["peak_rss"] > 0 and lineage["seconds"] > 0
    # 2,000 entries: 3 % changed, 1 % removed, 1 % added (benchmarks/lineage_diff.py).
    summary = rows["diff_summary"]
    assert (summary["changed"], summary["removed"], summary["added"]) == (60, 20, 20)
    assert summary["unchanged"] == 2000 - 60 - 20
    assert rows["diff_entries"]["entries"] == 60 + 20 + 20


def test_the_s3_limit_puts_and_gets(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import s3_limit

    assert s3_limit.main(["--count", "1", "--mib", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["put_object", "get_object"]
    assert all("MiB/s" in line for line in lines)
