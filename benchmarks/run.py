"""Run the benchmark suite: ``python -m benchmarks.run [--quick] [--workloads …] [--targets …]``.

Makes (or reuses) the workloads with the shared generator, runs every operation of every target
in its own worker process, ``--runs`` times from a fresh state each (median reported), prints
the tables and the target checks, and writes everything as JSON. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import limits as limits_mod
from benchmarks import report, targets
from benchmarks.measure import OpResult, run_worker, wire
from benchmarks.targets.base import OPS_BY_WORKLOAD, Target, rmtree_quiet
from benchmarks.workloads import ALL, Workload, apply_changes, copy_tree, prepare

HERE = Path(__file__).resolve().parent
QUICK_SCALE = 0.01
MiB = 1 << 20


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: 1 run, workloads scaled by {QUICK_SCALE:g}",
    )
    p.add_argument("--workloads", default=",".join(ALL), help="comma-separated: w1,w2,w3,w4")
    p.add_argument(
        "--targets",
        default=",".join(targets.REGISTRY),
        help="comma-separated: "
        + ",".join(targets.REGISTRY)
        + "; NAME:op+op runs only those operations of NAME (e.g. mlflow:log+download_cold)",
    )
    p.add_argument("--runs", type=int, default=None, help="runs per operation (default 3; 1 quick)")
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        help="workload size factor (default 1; 0.01 with --quick)",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=Path("/tmp/cairn-bench"),
        help="where workloads, per-run state and logs go (not the repository)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default benchmarks/results/<timestamp>.json)",
    )
    p.add_argument("--op-timeout", type=float, default=3600.0, help="seconds per operation")
    p.add_argument("--keep-state", action="store_true", help="keep stores after each run")
    a = p.parse_args(argv)
    a.runs = a.runs if a.runs is not None else (1 if a.quick else 3)
    a.scale = a.scale if a.scale is not None else (QUICK_SCALE if a.quick else 1.0)
    a.workloads = [w for w in a.workloads.split(",") if w]
    a.only_ops = {}
    names = []
    for item in (t for t in a.targets.split(",") if t):
        name, _, ops = item.partition(":")
        names.append(name)
        if ops:
            a.only_ops[name] = set(ops.split("+"))
    a.targets = names
    for w in a.workloads:
        if w not in ALL:
            p.error(f"unknown workload {w!r}; choose from {', '.join(ALL)}")
    for t in a.targets:
        if t not in targets.REGISTRY:
            p.error(f"unknown target {t!r}; choose from {', '.join(targets.REGISTRY)}")
    if a.runs < 1:
        p.error("--runs must be at least 1")
    return a


class Harness:
    def __init__(self, args: argparse.Namespace, stamp: str) -> None:
        self.args = args
        self.rows: list[dict[str, Any]] = []
        self.logs = args.data / "logs" / stamp
        self.console = report.console()

    def say(self, msg: str) -> None:
        self.console.print(f"[dim]{dt.datetime.now():%H:%M:%S}[/] {msg}", highlight=False)

    # -- one operation ------------------------------------------------------------------------
    def measure(self, t: Target, wl: Workload, op: str, data: Path, run: int) -> OpResult:
        spec = t.spec(wl, op, data)
        before = t.count_blobs()
        with wire(t.proxy_counts) as w:
            res = run_worker(
                t.name,
                op,
                spec,
                env=t.env(op),
                server_pids=t.server_pids(),
                log_path=self.logs / f"{t.name}-{wl.name}-run{run}-{op}.log",
                timeout=self.args.op_timeout,
            )
        after = t.count_blobs()
        if before is not None and after is not None:
            res.blobs_added = after - before
        if op == "log_incr":
            res.extra["expected_changed"] = len(wl.changed)
        if w:
            res.wire_up, res.wire_down, res.connections = w["up"], w["down"], w["connections"]
        status = f"{res.seconds:.3f} s" if res.ok else f"[red]failed[/]: {res.error}"
        self.say(f"  {t.name} {wl.name} run {run + 1} {op}: {status}")
        return res

    def add_row(
        self, t: Target, wl: Workload, op: str, results: list[OpResult], reason: str | None = None
    ) -> None:
        row: dict[str, Any] = {
            "target": t.name,
            "peer": t.peer,
            "workload": wl.name,
            "op": op,
            "files": wl.files,
            "bytes": wl.bytes,
        }
        ok = [r for r in results if r.ok]
        if reason is not None:
            row.update(status="skipped", reason=reason)
        elif not ok:
            row.update(status="error", reason=results[0].error if results else "no run")
        else:
            row["status"] = "ok" if len(ok) == len(results) else "partial"
            if len(ok) < len(results):
                row["reason"] = next(r.error for r in results if not r.ok)

            def med(attr: str) -> Any:
                vals = [getattr(r, attr) for r in ok if getattr(r, attr) is not None]
                return statistics.median(vals) if vals else None

            row.update(
                seconds=med("seconds"),
                client_rss=max(r.client_rss or 0 for r in ok) or None,
                server_rss=max(r.server_rss or 0 for r in ok) or None,
                wire_up=med("wire_up"),
                wire_down=med("wire_down"),
                connections=med("connections"),
                blobs_added=med("blobs_added"),
                read_bytes=med("read_bytes"),
                extra=ok[-1].extra,
            )
            # Operations that measure something else than the whole workload say so.
            extra = ok[-1].extra
            if "bytes" in extra:
                row["bytes"], row["files"] = extra["bytes"], None
            elif "files" in extra and op == "stat":
                row["files"] = extra["files"]
            elif op == "files_page":
                row["files"], row["bytes"] = extra.get("entries"), None
        row["runs"] = [asdict(r) for r in results]
        self.rows.append(row)

    # -- one target on one workload ------------------------------------------------------------
    def run_target(self, t: Target, wl: Workload, ops: tuple[str, ...]) -> None:
        only = self.args.only_ops.get(t.name)
        ops = tuple(op for op in ops if only is None or op in only)
        skip = {op: t.supports(wl, op) for op in ops}
        todo = [op for op in ops if skip[op] is None]
        results: dict[str, list[OpResult]] = {op: [] for op in todo}
        for run in range(self.args.runs if todo else 0):
            state = self.args.data / "state" / f"{t.name}-{wl.name}-run{run}"
            rmtree_quiet(state)
            state.mkdir(parents=True)
            try:
                t.start(state)
                if wl.name == "w3" and "log_incr" in todo:
                    assert wl.base is not None
                    ws = t.workspace()
                    copy_tree(wl.base, ws)  # the user's working copy of W1
                    first = self.measure(t, wl, "log", ws, run)  # untimed setup: W1 logged
                    if not first.ok:
                        raise RuntimeError(f"logging W1 first failed: {first.error}")
                    apply_changes(wl, ws)
                    results["log_incr"].append(self.measure(t, wl, "log_incr", ws, run))
                else:
                    data = t.data_for(wl, wl.path)
                    for op in todo:
                        results[op].append(self.measure(t, wl, op, data, run))
            except Exception as exc:  # noqa: BLE001 - one broken target must not stop the rest
                self.say(f"  [red]{t.name} {wl.name} run {run + 1}: {exc}[/]")
                for op in todo:
                    if len(results[op]) <= run:
                        results[op].append(OpResult(ok=False, error=f"{type(exc).__name__}: {exc}"))
            finally:
                t.stop()
                if not self.args.keep_state:
                    rmtree_quiet(state)
        for op in ops:
            self.add_row(t, wl, op, results.get(op, []), skip[op])

    def run_limits(self, t: limits_mod.Limits, wls: list[Workload]) -> None:
        t.hash_bytes = max(16 * MiB, int(1024 * MiB * min(1.0, self.args.scale * 10)))
        machine = Workload("machine", self.args.data, 0, 0, self.args.scale)
        self.run_target(t, machine, limits_mod.MACHINE_OPS)
        for wl in wls:
            if wl.name != "w3":  # W3 is W1 give or take 40 files
                self.run_target(t, wl, limits_mod.FOLDER_OPS)

    def run(self, wls: list[Workload]) -> None:
        for name in self.args.targets:
            t = targets.make(name)
            why = t.available()
            if why is not None:
                self.say(f"[yellow]{name}: {why}[/]")
                for wl in wls:
                    ops = limits_mod.FOLDER_OPS if name == "limits" else OPS_BY_WORKLOAD[wl.name]
                    for op in ops:
                        self.add_row(t, wl, op, [], why)
                continue
            self.say(f"[bold]{name}[/]")
            if isinstance(t, limits_mod.Limits):
                self.run_limits(t, wls)
                continue
            for wl in wls:
                self.run_target(t, wl, OPS_BY_WORKLOAD[wl.name])


def versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out: dict[str, str | None] = {}
    for pkg in ("cairn", "mlflow", "dvc", "wandb", "psutil", "xxhash"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that every server is stopped by the ``finally`` blocks


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or HERE / "results" / f"{stamp}.json"
    args.data.mkdir(parents=True, exist_ok=True)
    h = Harness(args, stamp)
    h.say(
        f"workloads {','.join(args.workloads)} at scale {args.scale:g}, {args.runs} run(s), "
        f"data in {args.data}"
    )
    wls = prepare(args.workloads, args.data, args.scale, log=h.say)
    wls = [w for w in wls if w.name in args.workloads]
    h.run(wls)
    checks = report.checks(h.rows, args.scale)
    doc = {
        "meta": {
            "timestamp": stamp,
            "argv": sys.argv[1:] if argv is None else argv,
            "quick": args.quick,
            "runs": args.runs,
            "scale": args.scale,
            "machine": {
                "cpus": os.cpu_count(),
                "memory": _memory(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "versions": versions(),
            "workloads": [w.to_json() for w in wls],
        },
        "rows": h.rows,
        "checks": checks,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str))
    report.print_report(h.console, doc)
    h.say(f"JSON written to {out}; worker logs in {h.logs}")
    if not args.keep_state:
        shutil.rmtree(args.data / "state", ignore_errors=True)
    return 0


def _memory() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        return None


if __name__ == "__main__":
    sys.exit(main())
