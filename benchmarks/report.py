"""The tables (rich) and the target checks of a benchmark run.

Ratios in the tables:

* ``vs MLflow`` / ``vs DVC`` / ``vs W&B``: the peer's median time for the same workload and
  operation divided by this row's: ``12x`` means this row took 1/12 of the peer's time.
* ``vs limit``: how close the row comes to what the machine can do: log, log_incr and verify
  against 2-process MD5 (``md5x2``, a fraction of its MB/s); relog against ``os.stat`` of every
  file; downloads against ``cp -r`` (the limit's time over the row's: 1.0 = as fast as cp).
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

MB = 1_000_000
GiB = 1 << 30
PEER_COLUMNS = (("mlflow", "vs MLflow"), ("dvc", "vs DVC"), ("wandb", "vs W&B"))
SERVERS = ("cairn-server-sqlite", "cairn-server-pg-s3")
CAIRN = ("cairn-embedded", *SERVERS)
PACKED, PER_OBJECT = "cairn-server-pg-s3", "cairn-server-pg-s3-per-object"
LIMIT_FOR = {
    "log": "md5_2core",
    "log_incr": "md5_2core",
    "verify": "md5_2core",
    "relog": "stat",
    "download_cold": "cp_r",
    "download_warm": "cp_r",
    "download_warm_link": "cp_al",
}


def console() -> Console:
    return Console(file=sys.stdout, width=240 if not sys.stdout.isatty() else None)


def _find(rows: list[dict[str, Any]], target: str, workload: str, op: str) -> dict[str, Any] | None:
    for r in rows:
        if (r["target"], r["workload"], r["op"]) == (target, workload, op) and r.get("seconds"):
            return r
    return None


def mb_per_s(row: dict[str, Any]) -> float | None:
    if row.get("seconds") and row.get("bytes"):
        return float(row["bytes"]) / MB / float(row["seconds"])
    return None


def files_per_s(row: dict[str, Any]) -> float | None:
    if row.get("seconds") and row.get("files"):
        return float(row["files"]) / float(row["seconds"])
    return None


def limit_ratio(rows: list[dict[str, Any]], row: dict[str, Any]) -> tuple[float, str] | None:
    """(ratio, limit name) for ``row`` (see the module docstring), or None."""
    lim_op = LIMIT_FOR.get(row["op"])
    if lim_op is None or not row.get("seconds"):
        return None
    wl = (
        "machine"
        if lim_op == "md5_2core"
        else ("w1" if row["workload"] == "w3" else row["workload"])
    )
    lim = _find(rows, "limits", wl, lim_op)
    if lim is None:
        return None
    if lim_op == "md5_2core":
        mine, best = mb_per_s(row), mb_per_s(lim)
        return (mine / best, "md5x2") if mine and best else None
    name = {"stat": "stat", "cp_al": "cp -al"}.get(lim_op, "cp -r")
    return float(lim["seconds"]) / float(row["seconds"]), name


def peer_ratio(rows: list[dict[str, Any]], row: dict[str, Any], peer: str) -> float | None:
    other = _find(rows, peer, row["workload"], row["op"])
    if other is None or not row.get("seconds") or row["target"] == peer:
        return None
    return float(other["seconds"]) / float(row["seconds"])


def _fmt(v: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "" if v is None else f"{v:{spec}}{suffix}"


def _mib(v: Any) -> str:
    return "" if v is None else f"{float(v) / (1 << 20):,.0f}"


def _count(v: Any) -> str:
    return "" if v is None else f"{int(v):,}"


def _mb(v: Any) -> str:
    return "" if v is None else f"{float(v) / MB:,.1f}"


def table_for(rows: list[dict[str, Any]], workload: str, scale: float) -> Table:
    title = f"{workload}" + (f" (scale {scale:g})" if scale != 1 and workload != "machine" else "")
    t = Table(title=title, title_justify="left", header_style="bold")
    for col, just in (
        ("target", "left"),
        ("op", "left"),
        ("median s", "right"),
        ("files/s", "right"),
        ("MB/s", "right"),
        ("client MiB", "right"),
        ("server MiB", "right"),
        ("wire MB up/down", "right"),
        ("blobs +", "right"),
        ("files read", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for _peer, label in PEER_COLUMNS:
        t.add_column(label, justify="right")
    t.add_column("vs limit", justify="right")
    t.add_column("note")
    for r in rows:
        if r["workload"] != workload:
            continue
        if r["status"] in ("skipped", "error"):
            style = "yellow" if r["status"] == "skipped" else "red"
            blanks = [""] * 11
            t.add_row(r["target"], r["op"], f"[{style}]{r['status']}[/]", *blanks, r.get("reason"))
            continue
        wire = ""
        if r.get("wire_up") is not None:
            wire = f"{_mb(r['wire_up'])} / {_mb(r['wire_down'])}"
        lim = limit_ratio(rows, r)
        t.add_row(
            r["target"],
            r["op"],
            _fmt(r["seconds"], ".3f"),
            _fmt(files_per_s(r), ",.0f"),
            _fmt(mb_per_s(r), ",.1f"),
            _mib(r.get("client_rss")),
            _mib(r.get("server_rss")),
            wire,
            "" if r.get("blobs_added") is None else f"{r['blobs_added']:,.0f}",
            _count((r.get("extra") or {}).get("data_files_opened")),
            *(_fmt(peer_ratio(rows, r, p), ".1f", "x") for p, _ in PEER_COLUMNS),
            "" if lim is None else f"{lim[0]:.2f} {lim[1]}",
            r.get("reason", ""),
        )
    return t


# -- the targets of issue 7 ----------------------------------------------------------------------


def _check(
    target: str, what: str, value: str, goal: str, ok: bool | None, note: str = ""
) -> dict[str, Any]:
    status = "N/A" if ok is None else ("PASS" if ok else "MISS")
    return {
        "target": target,
        "check": what,
        "value": value,
        "goal": goal,
        "status": status,
        "note": note,
    }


def checks(rows: list[dict[str, Any]], scale: float) -> list[dict[str, Any]]:
    """Each issue-7 target, per Cairn target that ran; N/A (with why) where it could not run."""
    out: list[dict[str, Any]] = []
    scaled = "" if scale == 1 else f"measured at scale {scale:g}, not the real workload"

    present = {r["target"] for r in rows}
    servers = [t for t in SERVERS if t in present]
    cairns = [t for t in CAIRN if t in present]

    def ran(target: str, workload: str, op: str) -> dict[str, Any] | None:
        return _find(rows, target, workload, op)

    def why_not(target: str, workload: str, op: str) -> str:
        for r in rows:
            if (r["target"], r["workload"], r["op"]) == (target, workload, op):
                return str(r.get("reason") or r["status"])
        return "not run"

    # W1 log to a server: ≥10x MLflow files/s, ≥3x DVC add+push (embedded shown for reference).
    for target in (*servers, *(["cairn-embedded"] if "cairn-embedded" in present else [])):
        ref = "" if target in SERVERS else "for reference: the target is for a server"
        for peer, goal in (("mlflow", 10.0), ("dvc", 3.0)):
            what = f"W1 log ≥{goal:g}x {'MLflow' if peer == 'mlflow' else 'DVC add+push'}"
            r = ran(target, "w1", "log")
            p = ran(peer, "w1", "log")
            if r is None or p is None:
                missing = target if r is None else peer
                out.append(
                    _check(target, what, "", f"≥{goal:g}x", None, why_not(missing, "w1", "log"))
                )
                continue
            ratio = float(p["seconds"]) / float(r["seconds"])
            out.append(
                _check(
                    target,
                    what,
                    f"{ratio:.1f}x",
                    f"≥{goal:g}x",
                    ratio >= goal,
                    "; ".join(x for x in (ref, scaled) if x),
                )
            )
    for target in cairns:
        # W2 log ≥ 70% of the 2-core MD5 limit, end to end.
        r = ran(target, "w2", "log")
        lim = ran("limits", "machine", "md5_2core")
        if r is None or lim is None:
            out.append(
                _check(
                    target,
                    "W2 log ≥70% of 2-core MD5",
                    "",
                    "≥0.70",
                    None,
                    why_not(target if r is None else "limits", "w2", "log"),
                )
            )
        else:
            frac = (mb_per_s(r) or 0) / (mb_per_s(lim) or 1)
            out.append(
                _check(
                    target,
                    "W2 log ≥70% of 2-core MD5",
                    f"{frac:.2f} ({mb_per_s(r):,.0f} of {mb_per_s(lim):,.0f} MB/s)",
                    "≥0.70",
                    frac >= 0.7,
                    scaled,
                )
            )
        # Unchanged re-log of W1 under 1 s, reading no file.
        r = ran(target, "w1", "relog")
        if r is None:
            out.append(
                _check(
                    target,
                    "W1 unchanged re-log <1 s, no file read",
                    "",
                    "<1 s",
                    None,
                    why_not(target, "w1", "relog"),
                )
            )
        else:
            opened = (r.get("extra") or {}).get("data_files_opened")
            out.append(
                _check(
                    target,
                    "W1 unchanged re-log <1 s, no file read",
                    f"{r['seconds']:.3f} s, {_count(opened) or '?'} files opened",
                    "<1 s, 0 files opened",
                    r["seconds"] < 1.0 and opened == 0,
                    scaled,
                )
            )
        # W3 after W1 sends only the changed and added blobs.
        r = ran(target, "w3", "log_incr")
        if r is None:
            out.append(
                _check(
                    target,
                    "W3 after W1 uploads only the changed blobs",
                    "",
                    "",
                    None,
                    why_not(target, "w3", "log_incr"),
                )
            )
        else:
            expected = int((r.get("extra") or {}).get("expected_changed") or 0)
            blobs = r.get("blobs_added")
            ok = blobs is not None and expected <= blobs <= expected + 1
            wire = "" if r.get("wire_up") is None else f", {_mb(r['wire_up'])} MB sent"
            out.append(
                _check(
                    target,
                    "W3 after W1 uploads only the changed blobs",
                    f"{blobs} blobs added{wire}",
                    f"{expected} (+1: the manifest is a blob)",
                    ok,
                    scaled,
                )
            )
        # Warm downloads of W2 against the copy that does the same work (issue 14): ordinary
        # copies against cp -r, hard links against cp -al; W1 cold within 1.5x cp -r.
        for wl, op, lim_op, factor, what in (
            ("w2", "download_warm", "cp_r", 1.0, "W2 warm download (copies) ≤ cp -r time"),
            ("w2", "download_warm_link", "cp_al", 1.0, "W2 warm download (links) ≤ cp -al time"),
            ("w1", "download_cold", "cp_r", 1.5, "W1 cold download ≤ 1.5x cp -r time"),
        ):
            r = ran(target, wl, op)
            cp = ran("limits", wl, lim_op)
            shown = lim_op.replace("_", " -")
            bound = f"≤ {factor:g}x {shown}" if factor != 1 else f"≤ {shown}"
            if r is None or cp is None:
                missing = (target, op) if r is None else ("limits", lim_op)
                out.append(_check(target, what, "", "", None, why_not(missing[0], wl, missing[1])))
                continue
            out.append(
                _check(
                    target,
                    what,
                    f"{r['seconds']:.2f} s vs {shown} {cp['seconds']:.2f} s",
                    bound,
                    r["seconds"] <= factor * cp["seconds"],
                    scaled,
                )
            )
        # W2 cold download: 1.5 s on the embedded store, 2.5 s through a server on PG + S3.
        limit_s = {"cairn-embedded": 1.5, "cairn-server-pg-s3": 2.5}.get(target)
        if limit_s is not None:
            r = ran(target, "w2", "download_cold")
            out.append(
                _check(
                    target,
                    f"W2 cold download ≤ {limit_s} s",
                    "" if r is None else f"{r['seconds']:.2f} s",
                    f"≤ {limit_s} s",
                    None if r is None else r["seconds"] <= limit_s,
                    scaled if r is not None else why_not(target, "w2", "download_cold"),
                )
            )
        # W4: client memory under 2 GiB for log and download; files() pages.
        for op in ("log", "download_cold"):
            r = ran(target, "w4", op)
            what = f"W4 {op} client RSS <2 GiB"
            if r is None:
                out.append(_check(target, what, "", "<2 GiB", None, why_not(target, "w4", op)))
            else:
                rss = r.get("client_rss") or 0
                out.append(
                    _check(target, what, f"{rss / GiB:.2f} GiB", "<2 GiB", rss < 2 * GiB, scaled)
                )
        r = ran(target, "w4", "files_page")
        what = "W4 files() first page without the whole manifest"
        if r is None:
            out.append(_check(target, what, "", "", None, why_not(target, "w4", "files_page")))
        else:
            ex = r.get("extra") or {}
            grow = int(ex.get("rss_growth") or 0)
            ok = not ex.get("manifest_loaded") and grow < 64 * (1 << 20)
            out.append(
                _check(
                    target,
                    what,
                    f"{r['seconds']:.3f} s, RSS +{grow / (1 << 20):.0f} MiB, manifest "
                    f"{'loaded' if ex.get('manifest_loaded') else 'not loaded'}",
                    "not loaded, RSS +<64 MiB",
                    ok,
                    scaled,
                )
            )
    out.extend(pack_checks(rows, scale))
    out.extend(byte_path_checks(rows, scale))
    if any(r["workload"] == "load" for r in rows):
        from benchmarks import load

        out += load.checks(rows)
    return out


# Issue 14's table: (target, workload, op, kind, reference, factor, label). ``peer``: the
# reference system's time over ours is at least ``factor``; ``limit``: ours is at most
# ``factor`` times the limits row's; ``seconds``: ours is at most ``factor`` seconds.
BYTE_PATH_TARGETS: tuple[tuple[str, str, str, str, str, float, str], ...] = (
    ("cairn-embedded", "w1", "log", "peer", "dvc", 5.0, "W1 log ≥ 5x DVC add+push"),
    ("cairn-embedded", "w1", "log", "limit", "tar", 10.0, "W1 log ≤ 10x tar (reading)"),
    ("cairn-server-pg-s3", "w1", "log", "peer", "dvc", 4.0, "W1 log ≥ 4x DVC add+push"),
    ("cairn-embedded", "w1", "download_cold", "peer", "dvc", 6.0, "W1 cold download ≥ 6x DVC"),
    ("cairn-server-pg-s3", "w1", "download_cold", "peer", "dvc", 6.0, "W1 cold download ≥ 6x DVC"),
    ("cairn-embedded", "w3", "log_incr", "seconds", "", 0.5, "W3 after W1 ≤ 0.5 s"),
    ("cairn-server-pg-s3", "w3", "log_incr", "seconds", "", 0.5, "W3 after W1 ≤ 0.5 s"),
    ("cairn-embedded", "w2", "log", "peer", "wandb", 1.0, "W2 log ≤ W&B's offline log"),
    ("cairn-server-pg-s3", "w2", "log", "peer", "wandb", 0.5, "W2 log ≤ 2x W&B's offline log"),
)


def byte_path_checks(rows: list[dict[str, Any]], scale: float) -> list[dict[str, Any]]:
    """Issue 14's targets not judged above, for the Cairn targets that ran."""
    scaled = "" if scale == 1 else f"measured at scale {scale:g}, not the real workload"
    present = {r["target"] for r in rows}
    out: list[dict[str, Any]] = []
    for target, wl, op, kind, ref, factor, what in BYTE_PATH_TARGETS:
        if target not in present:
            continue
        r = _find(rows, target, wl, op)
        if kind == "seconds":
            goal = f"≤ {factor:g} s"
            if r is None:
                out.append(_check(target, what, "", goal, None, "not run"))
            else:
                ok = r["seconds"] <= factor
                out.append(_check(target, what, f"{r['seconds']:.2f} s", goal, ok, scaled))
            continue
        other = _find(rows, ref if kind == "peer" else "limits", wl, op if kind == "peer" else ref)
        goal = f"≥ {factor:g}x" if kind == "peer" else f"≤ {factor:g}x {ref}"
        if r is None or other is None:
            out.append(_check(target, what, "", goal, None, "needs both rows"))
            continue
        ours, theirs = float(r["seconds"]), float(other["seconds"])
        ratio = f"{theirs / ours:.1f}x" if kind == "peer" else f"{ours / theirs:.1f}x {ref}"
        value = f"{ours:.2f} s vs {ref} {theirs:.2f} s ({ratio})"
        ok = theirs / ours >= factor if kind == "peer" else ours <= factor * theirs
        out.append(_check(target, what, value, goal, ok, scaled))
    return out


def pack_checks(rows: list[dict[str, Any]], scale: float) -> list[dict[str, Any]]:
    """Issue 8: small files on PostgreSQL + S3, packed, side by side with one object each."""
    if PACKED not in {r["target"] for r in rows}:
        return []
    scaled = "" if scale == 1 else f"measured at scale {scale:g}, not the real workload"
    out: list[dict[str, Any]] = []
    for op, what in (("log", "W1 log ≤ 6 s"), ("download_cold", "W1 cold download ≤ 6 s")):
        r, base = _find(rows, PACKED, "w1", op), _find(rows, PER_OBJECT, "w1", op)
        if r is None:
            out.append(_check(PACKED, what, "", "≤ 6 s", None, "not run"))
            continue
        vs = ""
        if base is not None:
            ratio = float(base["seconds"]) / float(r["seconds"])
            vs = f"; one object per blob: {base['seconds']:.1f} s ({ratio:.0f}x)"
        out.append(
            _check(PACKED, what, f"{r['seconds']:.2f} s{vs}", "≤ 6 s", r["seconds"] <= 6, scaled)
        )
    r, base = _find(rows, PACKED, "w2", "log"), _find(rows, PER_OBJECT, "w2", "log")
    what = "W2 log unaffected by packs"
    if r is None or base is None:
        out.append(_check(PACKED, what, "", "≤ 1.15x per-object", None, "needs both W2 logs"))
    else:
        ratio = float(r["seconds"]) / float(base["seconds"])
        out.append(
            _check(
                PACKED,
                what,
                f"{r['seconds']:.2f} s vs {base['seconds']:.2f} s per-object ({ratio:.2f}x)",
                "≤ 1.15x per-object",
                ratio <= 1.15,
                scaled,
            )
        )
    return out


def print_report(con: Console, doc: dict[str, Any]) -> None:
    rows, scale = doc["rows"], doc["meta"]["scale"]
    for wl in ("machine", *(w["name"] for w in doc["meta"]["workloads"])):
        if any(r["workload"] == wl for r in rows):
            con.print(table_for(rows, wl, scale))
    if any(r["workload"] == "load" for r in rows):
        from benchmarks import load

        con.print(load.table(rows))
    print_checks(con, doc["checks"])


def print_checks(con: Console, checks: list[dict[str, Any]]) -> None:
    t = Table(
        title="targets: reported, never enforced",
        title_justify="left",
        header_style="bold",
    )
    for col in ("target", "check", "value", "goal", "status", "note"):
        t.add_column(col)
    colour = {"PASS": "green", "MISS": "red", "N/A": "yellow"}
    for c in checks:
        st = f"[{colour[c['status']]}]{c['status']}[/]"
        t.add_row(c["target"], c["check"], c["value"], c["goal"], st, c["note"])
    con.print(t)


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from several runs of the suite at one scale (say Cairn's targets, then the
    slow peers on their own): rows of a later file replace the same target, workload and
    operation of an earlier one, and the checks are made again over all of them."""
    scales = {d["meta"]["scale"] for d in docs}
    if len(scales) != 1:
        raise SystemExit(f"these files were run at different scales: {sorted(scales)}")
    (scale,) = scales
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    workloads: dict[str, dict[str, Any]] = {}
    for d in docs:
        for r in d["rows"]:
            rows[(r["target"], r["workload"], r["op"])] = r
        for w in d["meta"]["workloads"]:
            workloads.setdefault(w["name"], w)
    meta = {**docs[-1]["meta"], "merged_from": [d["meta"]["timestamp"] for d in docs]}
    meta["workloads"] = list(workloads.values())
    merged = list(rows.values())
    return {"meta": meta, "rows": merged, "checks": checks(merged, scale)}


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.report RUN.json [RUN.json …] [--out MERGED.json]``: print the
    tables and target checks of one run, or of several merged (peers' ratios included)."""
    import argparse
    import json
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    p.add_argument("runs", nargs="+", type=Path, help="JSON files written by benchmarks.run")
    p.add_argument("--out", type=Path, help="write the merged report here")
    args = p.parse_args(argv)
    doc = merge([json.loads(f.read_text()) for f in args.runs])
    if args.out:
        args.out.write_text(json.dumps(doc, indent=1, default=str))
    print_report(console(), doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
