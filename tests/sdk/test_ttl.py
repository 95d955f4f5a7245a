"""Artifact TTL as the reference describes it, on every backend kind: a draft's or a logged
version's own TTL, ``None`` (never, even with an entity default), inheriting the entity's
default (set with ``cairn team default-ttl``), and expiry by ``cairn gc``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

import cairn as wandb
from tests import backends
from tests.conftest import CairnEnv, write


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _draft(env: CairnEnv, name: str, data: bytes) -> wandb.Artifact:
    art = wandb.Artifact(name, type="model")
    art.add_file(str(write(env.work / f"{name}-{data.hex()}.bin", data)), name="w.bin")
    return art


def _log(project: str, art: wandb.Artifact) -> wandb.Artifact:
    with wandb.init(project=project) as run:
        run.log_artifact(art).wait()
    return art


def test_a_drafts_ttl_is_logged_with_it(cairn_env: CairnEnv, project: str) -> None:
    art = _draft(cairn_env, "m", b"a")
    with pytest.raises(wandb.ArtifactNotLoggedError):
        art.ttl  # noqa: B018 - inheriting: only the store knows the entity's default
    art.ttl = timedelta(days=3)
    assert art.ttl == timedelta(days=3)
    _log(project, art)
    assert art.ttl == timedelta(days=3)
    assert wandb.Api().artifact(f"{project}/m:v0").ttl == timedelta(days=3)


def test_a_logged_versions_ttl_changes_on_save(cairn_env: CairnEnv, project: str) -> None:
    art = _log(project, _draft(cairn_env, "m", b"a"))
    assert art.ttl is None  # no entity default: never expires
    art.ttl = timedelta(hours=5)
    art.save()
    assert wandb.Api().artifact(f"{project}/m:v0").ttl == timedelta(hours=5)
    art.ttl = None
    art.save()
    assert wandb.Api().artifact(f"{project}/m:v0").ttl is None


@pytest.mark.parametrize("bad", [timedelta(0), timedelta(seconds=-5), "1 day", 3600])
def test_a_non_positive_or_untyped_ttl_is_a_value_error(cairn_env: CairnEnv, bad: object) -> None:
    art = _draft(cairn_env, "m", b"a")
    with pytest.raises(ValueError):
        art.ttl = bad  # type: ignore[assignment]


def test_none_overrides_the_entity_default_and_inherit_follows_it(
    cairn_env: CairnEnv, project: str
) -> None:
    entity = wandb.Api().default_entity
    set_default = _cli("team", "default-ttl", entity, "--days", "2")
    assert set_default.returncode == 0, set_default.stderr
    assert "expire 2 day(s)" in set_default.stdout
    inherits = _log(project, _draft(cairn_env, "a", b"a"))
    assert inherits.ttl == timedelta(days=2)
    never = _draft(cairn_env, "b", b"b")
    never.ttl = None
    _log(project, never)
    assert never.ttl is None
    never.ttl = wandb.ArtifactTTL.INHERIT
    with pytest.raises(wandb.ArtifactNotLoggedError):
        never.ttl  # noqa: B018 - inheriting, not saved yet
    never.save()
    assert never.ttl == timedelta(days=2)
    shown = _cli("team", "default-ttl", entity, "--never")
    assert "never expire" in shown.stdout, shown.stderr
    assert wandb.Api().artifact(f"{project}/a:v0").ttl is None


def test_a_linked_artifacts_ttl_cannot_be_set(cairn_env: CairnEnv, project: str) -> None:
    linked = _log(project, _draft(cairn_env, "m", b"a")).link("best")
    with pytest.raises(ValueError, match="source"):
        linked.ttl = timedelta(days=1)


def test_gc_expires_due_versions_but_not_linked_ones(
    cairn_env: CairnEnv, project: str, request: pytest.FixtureRequest
) -> None:
    due, linked, kept = (_draft(cairn_env, n, n.encode()) for n in ("due", "linked", "kept"))
    due.ttl = linked.ttl = timedelta(seconds=1)
    for art in (due, linked, kept):
        _log(project, art)
    linked.link("best")
    # The TTL counts from creation on the store's clock (this machine's): let it pass.
    deadline = datetime.fromisoformat(due.created_at) + timedelta(seconds=1.5)
    while datetime.now(UTC) < deadline:
        time.sleep(0.1)
    admin: dict[str, str] = {}
    if cairn_env.kind != "embedded":
        plain = _cli("gc", "--dry-run")
        assert "versions not expired: that needs a server admin" in plain.stdout, plain.stderr
        admin["CAIRN_API_KEY"] = backends.server_for(cairn_env.kind, request).admin_key
    entity = due.entity
    dry = _cli("gc", "--dry-run", **admin)
    assert dry.returncode == 0, dry.stderr
    assert f"{entity}/{project}/due:v0" in dry.stdout
    assert f"{project}/linked" not in dry.stdout and f"{project}/kept" not in dry.stdout
    api = wandb.Api()
    assert api.artifact_exists(f"{project}/due:v0")  # a dry run deletes nothing
    done = _cli("gc", "--grace", "0", **admin)
    assert done.returncode == 0, done.stderr
    assert f"{entity}/{project}/due:v0" in done.stdout
    assert not api.artifact_exists(f"{project}/due:v0")
    assert api.artifact_exists(f"{project}/linked:v0")
    assert api.artifact_exists(f"{project}/kept:v0")
