"""How long the web UI's lineage and compare pages take to render, server side.

Builds a database (SQLite in a temporary folder, or PostgreSQL with ``--pg URL``) holding

* a lineage graph of ``--fan`` x 3 + 1 nodes (301 by default): one dataset version used by
  ``--fan`` training runs, each logging a model version that an evaluation run used, so the
  lineage of the dataset to depth 3 reaches every node;
* two versions of ``--files`` files (10,000) that differ in 2% of them (1% changed, 0.5% added,
  0.5% removed),

written straight into the tables as a server would have committed them. Then asks the app in
process (as :mod:`benchmarks.ui_pages` does) for the lineage page, its graph JSON, the compare
page and a one-file text diff, ``--repeat`` times after a warm-up.

    python -m benchmarks.ui_more_pages
    python -m benchmarks.ui_more_pages --fan 300 --files 100000 --out more.json
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from tests.server.asgi import SyncASGITransport

from benchmarks.ui_pages import measure
from cairn.core.db import models as m
from cairn.server import ServerConfig, create_app
from cairn.server.app import open_state

CHUNK = 10_000
DIGEST = "CY9rzUYh03PK3k6DJie09g=="
OTHER = "XUFAKrxLKna5cZ2REBfFkg=="


def _version(s: Any, collection: m.Collection, index: int, files: int, run: int | None) -> Any:
    now = m.utcnow()
    v = m.Version(
        public_id=secrets.token_hex(12),
        collection_id=collection.id,
        index=index,
        digest=secrets.token_hex(16),
        state="COMMITTED",
        metadata_={"index": index},
        size=files * 4096,
        file_count=files,
        run_id=run,
        created_at=now,
        updated_at=now,
        committed_at=now,
    )
    s.add(v)
    s.flush()
    return v


def build(state: Any, fan: int, files: int) -> dict[str, str]:
    """The graph and the pair of versions; returns the ids the pages need."""
    _, key = state.accounts.create_user("alice")
    with state.db.write() as s:
        entity = s.scalar(select(m.Entity.id).where(m.Entity.name == "alice"))
        project = m.Project(entity_id=entity, name="bench")
        s.add(project)
        s.flush()
        data = m.Collection(project_id=project.id, name="dataset", type="dataset")
        models = m.Collection(project_id=project.id, name="model", type="model")
        pair = m.Collection(project_id=project.id, name="pair", type="dataset")
        s.add_all([data, models, pair])
        s.flush()
        root = _version(s, data, 0, 1, None)
        for i in range(fan):
            train = m.Run(public_id=f"train-{i:04d}", project_id=project.id, name=f"train {i}")
            evaluate = m.Run(public_id=f"eval-{i:04d}", project_id=project.id, name=f"eval {i}")
            s.add_all([train, evaluate])
            s.flush()
            s.add(m.RunInput(run_id=train.id, version_id=root.id))
            model = _version(s, models, i, 1, train.id)
            s.add(m.RunInput(run_id=evaluate.id, version_id=model.id))
        data.next_index, models.next_index, pair.next_index = 1, fan, 2
        a = _version(s, pair, 0, files, None)
        b = _version(s, pair, 1, files, None)
        changed, gone = files // 100, files // 200

        def rows(version: Any, which: str) -> Any:
            for i in range(files):
                path = f"part-{i // 1000:03d}/row-{i:07d}.txt"
                if which == "a":
                    yield {"version_id": version.id, "path": path, "digest": DIGEST, "size": 4096}
                elif i >= gone:  # b lacks the first ``gone`` files and changes the next ones
                    digest = OTHER if i < gone + changed else DIGEST
                    yield {"version_id": version.id, "path": path, "digest": digest, "size": 4096}
            if which == "b":
                for j in range(gone):
                    path = f"part-new/row-{j:07d}.txt"
                    yield {"version_id": version.id, "path": path, "digest": DIGEST, "size": 4096}

        for version, which in ((a, "a"), (b, "b")):
            batch: list[dict[str, Any]] = []
            for row in rows(version, which):
                batch.append(row)
                if len(batch) == CHUNK:
                    s.execute(insert(m.VersionFile.__table__), batch)
                    batch = []
            if batch:
                s.execute(insert(m.VersionFile.__table__), batch)
        return {"key": key, "root": root.public_id, "a": a.public_id, "b": b.public_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fan", type=int, default=100, help="training runs (nodes: 3 x fan + 1)")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty database) instead of SQLite")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cairn-ui-bench-") as tmp:
        db_url = args.pg or f"sqlite:///{Path(tmp) / 'ui.db'}"
        config = ServerConfig(db_url=db_url, store_uri=(Path(tmp) / "blobs").as_uri())
        state = open_state(config)
        started = time.perf_counter()
        made = build(state, args.fan, args.files)
        print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        transport = SyncASGITransport(create_app(config, state))
        client = httpx.Client(
            transport=transport,
            base_url="http://cairn.bench",
            headers={"Authorization": f"Bearer {made['key']}"},
        )
        root, a, b = made["root"], made["a"], made["b"]
        n = 3 * args.fan + 1
        pages = {
            f"lineage page, {n} nodes": f"/versions/{root}/lineage?depth=3",
            f"lineage graph JSON, {n} nodes": f"/versions/{root}/lineage/graph?depth=3",
            f"compare, {args.files} files": f"/versions/{a}/compare/{b}",
            "compare, a page in": f"/versions/{a}/compare/{b}?after=part-005/row-0005000.txt",
        }
        results = {name: measure(client, url, args.repeat) for name, url in pages.items()}
        graph = client.get(pages[f"lineage graph JSON, {n} nodes"]).json()
        assert len(graph["nodes"]) == n, len(graph["nodes"])
        client.close()
        transport.close()
        state.db.dispose()
    report = {
        "db": "postgresql" if args.pg else "sqlite",
        "fan": args.fan,
        "files": args.files,
        "repeat": args.repeat,
        "pages": results,
    }
    for name, r in results.items():
        times = f"{r['median_ms']:8.1f} ms median {r['max_ms']:8.1f} ms max"
        print(f"{name:36} {times} {r['bytes']:>8} B")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
