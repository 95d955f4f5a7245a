"""``cairn server --workers N``: N processes serve one port (the server keeps nothing between
requests, so any of them may answer any request)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.processes import free_port, log_tail, stop_group

pytest.importorskip("uvicorn")


@pytest.mark.slow
def test_two_workers_serve_one_port(tmp_path: Path) -> None:
    port = free_port()
    key = f"cairn_test_admin_{secrets.token_hex(16)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(CAIRN_ADMIN_KEY=key, CAIRN_CONFIG=str(tmp_path / "none.toml"))
    db = f"sqlite:///{tmp_path / 'cairn.db'}"
    cmd = [sys.executable, "-m", "cairn.cli", "server", "--db", db]
    cmd += ["--store", (tmp_path / "blobs").as_uri(), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", "2", "--log-level", "warning"]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
            while True:
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log_tail(log)
                assert time.monotonic() < deadline, log_tail(log)
                time.sleep(0.2)  # waiting for the processes to start listening
            # Both workers are up (uvicorn's supervisor starts them together); multiprocessing's
            # resource tracker is a child too, and not a worker.
            children = psutil.Process(proc.pid).children(recursive=True)
            workers = [p for p in children if "resource_tracker" not in " ".join(p.cmdline())]
            assert len(workers) == 2, [p.cmdline() for p in children]
        # Each request on a new connection, so the kernel hands them to either worker.
        for _ in range(20):
            viewer = httpx.get(f"{url}/api/v1/viewer", headers={"Authorization": f"Bearer {key}"})
            assert viewer.status_code == 200 and viewer.json()["admin"] is True
        # /metrics adds up every worker's counts (prometheus-client's multiprocess mode).
        text = httpx.get(f"{url}/metrics").text
        served = [
            line
            for line in text.splitlines()
            if line.startswith(
                'cairn_http_requests_total{method="GET",route="/api/v1/viewer",status="200"}'
            )
        ]
        assert len(served) == 1 and float(served[0].split()[-1]) >= 20, served
    finally:
        stop_group(proc)
