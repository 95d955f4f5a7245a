"""How long the web UI's main pages take to render on a large catalog, server side.

Builds a database (SQLite in a temporary folder, or PostgreSQL with ``--pg URL``) holding a
collection of ``--versions`` versions (10,000) and a version of ``--files`` files (100,000, in
folders of 1,000), written straight into the tables as a server would have committed them.
Then asks the app in process (the same handlers ``cairn server`` runs, through
``httpx`` over ASGI, so no network or browser time) for each page ``--repeat`` times after a
warm-up, and prints the median and slowest time per page in milliseconds.

    python -m benchmarks.ui_pages                       # SQLite, 10,000 versions, 100,000 files
    python -m benchmarks.ui_pages --files 1000000 --out ui.json
    python -m benchmarks.ui_pages --pg postgresql+psycopg://postgres@127.0.0.1/cairn_ui_bench
    python -m benchmarks.ui_pages --files 1000000 --browser   # also first paint in Chromium

``--browser`` also serves the app with uvicorn on 127.0.0.1 and opens each page ``--repeat``
times in Debian's Chromium (Playwright, headless, no browser download; the cache warm after a
first visit), reporting the median *first contentful paint* from the browser's own paint
timing: what a user waits for, network, scripts and styles included.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from tests.server.asgi import SyncASGITransport

from cairn.core.db import models as m
from cairn.server import ServerConfig, create_app
from cairn.server.app import open_state

CHUNK = 10_000


def build(state: Any, versions: int, files: int) -> dict[str, str]:
    """The catalog; returns the ids the pages need."""
    _, key = state.accounts.create_user("alice")
    with state.db.write() as s:
        entity = s.scalar(select(m.Entity.id).where(m.Entity.name == "alice"))
        project = m.Project(entity_id=entity, name="bench")
        s.add(project)
        s.flush()
        many = m.Collection(project_id=project.id, name="many-versions", type="dataset")
        big = m.Collection(project_id=project.id, name="big-version", type="dataset")
        s.add_all([many, big])
        s.flush()
        many.next_index, big.next_index = versions, 1
        now = m.utcnow()
        rows = [
            {
                "public_id": secrets.token_hex(12),
                "collection_id": many.id,
                "version_index": i,
                "digest": secrets.token_hex(16),
                "state": "COMMITTED",
                "metadata": {"epoch": i, "metrics": {"acc": 0.5 + i / (2 * versions)}},
                "size": 1000 + i,
                "file_count": 3,
                "created_at": now,
                "updated_at": now,
                "committed_at": now,
            }
            for i in range(versions)
        ]
        for start in range(0, len(rows), CHUNK):
            s.execute(insert(m.Version.__table__), rows[start : start + CHUNK])
        ids = dict(
            s.execute(
                select(m.Version.index, m.Version.id).where(m.Version.collection_id == many.id)
            ).all()
        )
        s.execute(
            insert(m.Alias.__table__),
            [
                {"collection_id": many.id, "alias": f"checkpoint-{i}", "version_id": ids[i]}
                for i in range(0, versions, 100)
            ],
        )
        big_version = m.Version(
            public_id=secrets.token_hex(12),
            collection_id=big.id,
            index=0,
            digest=secrets.token_hex(16),
            state="COMMITTED",
            metadata_={"files": files},
            size=files * 4096,
            file_count=files,
            created_at=now,
            updated_at=now,
            committed_at=now,
        )
        s.add(big_version)
        s.flush()
        digest = "CY9rzUYh03PK3k6DJie09g=="
        batch: list[dict[str, Any]] = []
        for i in range(files):
            path = f"shard-{i // 1000:04d}/file-{i:07d}.bin"
            batch.append(
                {"version_id": big_version.id, "path": path, "digest": digest, "size": 4096}
            )
            if len(batch) == CHUNK:
                s.execute(insert(m.VersionFile.__table__), batch)
                batch = []
        if batch:
            s.execute(insert(m.VersionFile.__table__), batch)
        return {"key": key, "big": big_version.public_id}


def first_paints(app: Any, key: str, pages: dict[str, str], repeat: int) -> dict[str, float]:
    """Median first contentful paint (ms) of each page in headless Chromium, cache warm."""
    import socket
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright
    from tests.ui.conftest import CHROMIUM

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    paint = (
        "performance.getEntriesByType('paint')"
        ".filter(e => e.name === 'first-contentful-paint').map(e => e.startTime)[0]"
    )
    out: dict[str, float] = {}
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(
                viewport={"width": 1280, "height": 800},
                extra_http_headers={"Authorization": f"Bearer {key}"},
            )
            page = context.new_page()
            for name, url in pages.items():
                page.goto(f"http://127.0.0.1:{port}{url}")  # warm: scripts and styles cached
                times = []
                for _ in range(repeat):
                    page.goto(f"http://127.0.0.1:{port}{url}", wait_until="load")
                    # The paint entry can follow the load event by a frame. (Polled from
                    # here: the pages' CSP forbids the eval wait_for_function needs.)
                    ms = page.evaluate(paint)
                    for _ in range(1000):
                        if ms is not None:
                            break
                        time.sleep(0.01)
                        ms = page.evaluate(paint)
                    if ms is None:
                        raise RuntimeError(f"{url}: Chromium reported no first contentful paint")
                    times.append(float(ms))
                out[name] = round(statistics.median(times), 1)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return out


def measure(client: httpx.Client, url: str, repeat: int) -> dict[str, Any]:
    for _ in range(2):  # warm: caches, prepared statements, templates compiled
        assert client.get(url).status_code == 200, url
    times = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        size = len(r.content)
    return {
        "url": url,
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", help="a PostgreSQL URL (an empty database) instead of SQLite")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    parser.add_argument(
        "--browser", action="store_true", help="also time first paint in Chromium (Playwright)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cairn-ui-bench-") as tmp:
        db_url = args.pg or f"sqlite:///{Path(tmp) / 'ui.db'}"
        config = ServerConfig(db_url=db_url, store_uri=(Path(tmp) / "blobs").as_uri())
        state = open_state(config)
        started = time.perf_counter()
        made = build(state, args.versions, args.files)
        print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        transport = SyncASGITransport(create_app(config, state))
        client = httpx.Client(
            transport=transport,
            base_url="http://cairn.bench",
            headers={"Authorization": f"Bearer {made['key']}"},
        )
        coll = "/projects/alice/bench/artifacts/many-versions"
        big = "/projects/alice/bench/artifacts/big-version/v0"
        mid = f"shard-{args.files // 2000:04d}/"
        folder, after = f"/versions/{made['big']}/files", f"file-{args.files // 2 + 500:07d}.bin"
        pages = {
            "projects": "/",
            "project": "/projects/alice/bench",
            "collection, newest page": coll,
            "collection, a page deep down": f"{coll}?before={args.versions // 7}",
            "version": f"{coll}/v{args.versions - 1}",
            "version with its files": big,
            "files: a folder": f"{folder}?dir={mid}",
            "files: a folder, a page in": f"{folder}?dir={mid}&after={after}",
        }
        results = {name: measure(client, url, args.repeat) for name, url in pages.items()}
        client.close()
        transport.close()
        if args.browser:
            painted = first_paints(create_app(config, state), made["key"], pages, args.repeat)
            for name, ms in painted.items():
                results[name]["first_paint_ms"] = ms
        state.db.dispose()
    report = {
        "db": "postgresql" if args.pg else "sqlite",
        "versions": args.versions,
        "files": args.files,
        "repeat": args.repeat,
        "pages": results,
    }
    for name, r in results.items():
        times = f"{r['median_ms']:8.1f} ms median {r['max_ms']:8.1f} ms max"
        if "first_paint_ms" in r:
            times += f" {r['first_paint_ms']:8.1f} ms first paint"
        print(f"{name:32} {times} {r['bytes']:>8} B")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
