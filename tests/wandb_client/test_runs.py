"""Runs logged by the official wandb client: created, resumed and finished through UpsertBucket
and ``file_stream``, stored on the run records Cairn's own SDK writes, and read back by both
SDKs (``cairn.Api().run`` and ``wandb.Api().run``)."""

from __future__ import annotations

import math
import subprocess
from typing import Any

import pytest

import cairn
from tests.wandb_client.conftest import WandbClient

LOG_FIVE_STEPS = """
import wandb
run = wandb.init(project="p", entity=ENTITY, config={"lr": 0.1, "batch": 32},
                 tags=["baseline"], notes="first try", job_type="train", group="g1")
for i in range(5):
    run.log({"loss": 0.5 - 0.05 * i, "acc": {"top1": 0.9 + 0.01 * i}})
run.summary["best"] = 1
run.config.update({"layers": 3})
run.finish()
emit({"id": run.id, "entity": run.entity, "project": run.project})
"""


def _cairn_api(client: WandbClient) -> Any:
    return cairn.Api(overrides={"base_url": client.server.url}, api_key=client.api_key)


def _log_five(client: WandbClient) -> dict[str, Any]:
    script = LOG_FIVE_STEPS.replace("ENTITY", repr(client.entity))
    got: dict[str, Any] = client.run(script).result
    return got


def test_a_logged_run_reads_back_through_cairns_sdk(wandb_client: WandbClient) -> None:
    made = _log_five(wandb_client)
    assert (made["entity"], made["project"]) == (wandb_client.entity, "p")
    run = _cairn_api(wandb_client).run(f"{wandb_client.entity}/p/{made['id']}")
    assert run.state == "finished"
    assert run.config == {"lr": 0.1, "batch": 32, "layers": 3}
    assert run.tags == ["baseline"] or list(run.tags) == ["baseline"]
    assert run.notes == "first try"
    assert (run.job_type, run.group) == ("train", "g1")
    rows = run.history(pandas=False)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["loss"] for r in rows] == pytest.approx([0.5, 0.45, 0.4, 0.35, 0.3])
    assert rows[0]["acc"] == {"top1": pytest.approx(0.9)}  # nested, as the client logged it
    assert run.summary["best"] == 1
    assert run.summary["loss"] == pytest.approx(0.3)


def test_a_logged_run_reads_back_through_wandbs_api(wandb_client: WandbClient) -> None:
    made = _log_five(wandb_client)
    path = f"{wandb_client.entity}/p/{made['id']}"
    got = wandb_client.run(
        f"""
        import wandb
        api = wandb.Api()
        run = api.run({path!r})
        rows = run.history(pandas=False)
        keyed = run.history(keys=["loss"], pandas=False)
        scanned = list(run.scan_history())
        runs = [r.id for r in api.runs({wandb_client.entity + "/p"!r})]
        emit({{
            "state": run.state, "config": dict(run.config), "best": run.summary["best"],
            "loss": run.summary["loss"], "tags": run.tags, "name": run.name,
            "steps": [r["_step"] for r in rows], "keyed": keyed,
            "scanned": [r["_step"] for r in scanned], "runs": runs,
        }})
        """
    ).result
    assert got["state"] == "finished"
    assert got["config"] == {"lr": 0.1, "batch": 32, "layers": 3}
    assert got["best"] == 1 and math.isclose(got["loss"], 0.3)
    assert got["tags"] == ["baseline"]
    assert got["steps"] == [0, 1, 2, 3, 4]
    assert [r["_step"] for r in got["keyed"]] == [0, 1, 2, 3, 4]
    assert all(set(r) == {"_step", "loss"} for r in got["keyed"])
    assert got["scanned"] == [0, 1, 2, 3, 4]
    assert made["id"] in got["runs"]


def test_the_entity_defaults_to_the_keys_user(wandb_client: WandbClient) -> None:
    got = wandb_client.run(
        """
        import wandb
        run = wandb.init(project="p")
        run.log({"x": 1})
        run.finish()
        emit({"id": run.id, "entity": run.entity})
        """
    ).result
    assert got["entity"] == wandb_client.entity
    stored = _cairn_api(wandb_client).run(f"{wandb_client.entity}/p/{got['id']}")
    assert stored.state == "finished"


def test_a_run_resumes_with_its_history(wandb_client: WandbClient) -> None:
    script = f"""
        import wandb
        run = wandb.init(
            project="p", entity={wandb_client.entity!r}, id="resumable1", resume="allow"
        )
        for i in range(3):
            run.log({{"loss": float(i)}})
        emit({{"resumed": run.resumed, "step": run.step}})
        run.finish()
        """
    first = wandb_client.run(script).result
    second = wandb_client.run(script).result
    assert first["resumed"] is False and second["resumed"] is True
    run = _cairn_api(wandb_client).run(f"{wandb_client.entity}/p/resumable1")
    assert [r["_step"] for r in run.history(pandas=False)] == [0, 1, 2, 3, 4, 5]
    assert run.state == "finished"


def test_a_failing_script_fails_its_run(wandb_client: WandbClient) -> None:
    done = wandb_client.run(
        f"""
        import wandb
        run = wandb.init(project="p", entity={wandb_client.entity!r}, id="failing1")
        run.log({{"x": 1}})
        raise RuntimeError("training diverged")
        """,
        check=False,
    )
    assert done.returncode != 0, done.output
    run = _cairn_api(wandb_client).run(f"{wandb_client.entity}/p/failing1")
    assert (run.state, run.exit_code) == ("failed", 1)


def test_a_run_logged_by_cairn_reads_in_wandb(wandb_client: WandbClient) -> None:
    with cairn.init(
        project="p",
        entity=wandb_client.entity,
        config={"lr": 0.01},
        settings={"base_url": wandb_client.server.url, "api_key": wandb_client.api_key},
    ) as run:
        for i in range(4):
            run.log({"loss": 1.0 / (i + 1)})
        run.summary["best"] = 0.25
    got = wandb_client.run(
        f"""
        import wandb
        run = wandb.Api().run({f"{wandb_client.entity}/p/{run.id}"!r})
        emit({{"config": dict(run.config), "summary": dict(run.summary),
               "rows": run.history(pandas=False), "state": run.state}})
        """
    ).result
    assert got["config"] == {"lr": 0.01}
    assert got["summary"]["best"] == 0.25
    assert [r["loss"] for r in got["rows"]] == pytest.approx([1.0, 0.5, 1 / 3, 0.25])
    assert got["state"] == "finished"


def test_login_with_the_cli_then_use_the_saved_key(wandb_client: WandbClient) -> None:
    env = wandb_client.env()
    wandb_bin = wandb_client.python.parent / "wandb"
    done = subprocess.run(
        [
            str(wandb_bin),
            "login",
            "--host",
            wandb_client.server.url,
            "--relogin",
            wandb_client.api_key,
        ],
        env={k: v for k, v in env.items() if k not in ("WANDB_API_KEY", "WANDB_BASE_URL")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = wandb_client.run(
        """
        import os, wandb
        os.environ.pop("WANDB_API_KEY", None)
        os.environ.pop("WANDB_BASE_URL", None)
        emit(wandb.Api().viewer.username)
        """,
        WANDB_API_KEY="",
        WANDB_BASE_URL="",
    ).result
    assert got == wandb_client.entity


def test_run_files_are_kept_with_the_run(wandb_client: WandbClient, tmp_path: Any) -> None:
    from cairn.core import run_files
    from cairn.core.access import Principal
    from cairn.core.blobs.local import LocalBlobStore
    from cairn.core.db.engine import Database
    from cairn.core.service import Service

    made = _log_five(wandb_client)
    db = Database(wandb_client.server.db_url)
    try:
        # The server's own database, read as an admin (the bytes are in the rows, not a store).
        svc = Service(db, LocalBlobStore(tmp_path), Principal(name="root", is_superuser=True))
        names = {f.name for f in run_files.list_files(svc, wandb_client.entity, "p", made["id"])}
        config = run_files.read(svc, wandb_client.entity, "p", made["id"], "config.yaml")
        summary = run_files.read(svc, wandb_client.entity, "p", made["id"], "wandb-summary.json")
    finally:
        db.dispose()
    assert {"config.yaml", "wandb-summary.json"} <= names
    assert b"lr" in config and b"layers" in config
    assert b'"best": 1' in summary or b'"best":1' in summary
