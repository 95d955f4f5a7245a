"""TTL expiry in the core: what is due goes (never while linked), its blobs become reclaimable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cairn.core import ttl
from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.core.db.locks import try_hold_maintenance
from cairn.core.gc import Reclaimer
from cairn.errors import ArtifactNotFoundError, PermissionDeniedError, ValidationError
from cairn.records import TTL_INHERIT, TTL_NEVER, VersionUpdate
from tests.core.conftest import Core
from tests.core.helpers import data, hexmd5, log

DAY = 86_400


def _ttl(core: Core, version_id: str, seconds: int) -> None:
    core.service.update_version(version_id, VersionUpdate(ttl_seconds=seconds))


def _expire(core: Core, after: timedelta, *, dry_run: bool = False) -> set[str]:
    gone = ttl.expire(core.service, now=m.utcnow() + after, dry_run=dry_run)
    return {v.id for v in gone}


def test_a_version_expires_its_ttl_after_creation(core: Core, entity: str) -> None:
    v = log(core.service, entity, "ds", {"a": b"a"})
    _ttl(core, v.id, DAY)
    assert core.service.get_version(v.id).ttl_seconds == DAY
    assert _expire(core, timedelta(hours=23)) == set()
    assert _expire(core, timedelta(hours=25), dry_run=True) == {v.id}
    core.service.get_version(v.id)  # a dry run changes nothing
    assert _expire(core, timedelta(hours=25)) == {v.id}
    with pytest.raises(ArtifactNotFoundError):
        core.service.get_version(v.id)


def test_the_entity_default_applies_unless_a_version_says_never(core: Core, entity: str) -> None:
    inherits = log(core.service, entity, "a", {"a": b"a"})
    never = log(core.service, entity, "b", {"b": b"b"})
    own = log(core.service, entity, "c", {"c": b"c"})
    _ttl(core, never.id, TTL_NEVER)
    _ttl(core, own.id, 30 * DAY)
    core.service.set_default_ttl(entity, 7 * DAY)
    assert core.service.get_default_ttl(entity) == 7 * DAY
    rec = core.service.get_version(inherits.id)
    assert (rec.ttl_inherit, rec.ttl_seconds) == (True, 7 * DAY)
    assert _expire(core, timedelta(days=8)) == {inherits.id}
    assert _expire(core, timedelta(days=31)) == {own.id}
    assert core.service.get_version(never.id).ttl_seconds is None
    # Back to inheriting: the default applies to it again.
    _ttl(core, never.id, TTL_INHERIT)
    assert _expire(core, timedelta(days=8)) == {never.id}


def test_a_linked_version_does_not_expire_while_linked(core: Core, entity: str) -> None:
    v = log(core.service, entity, "ds", {"a": b"a"})
    _ttl(core, v.id, DAY)
    linked = core.service.link_version(v.id, entity, "p", "best", ["prod"])
    assert _expire(core, timedelta(days=2)) == set()
    assert linked.link_id is not None
    core.service.unlink_version(linked.link_id)
    assert _expire(core, timedelta(days=2)) == {v.id}


def test_blobs_of_expired_versions_become_reclaimable(core: Core, entity: str) -> None:
    only = {f"f{i}": data(300, i) for i in range(5)}
    v = log(core.service, entity, "ds", only)
    _ttl(core, v.id, DAY)
    reclaimer = Reclaimer(core.db, core.store, core.service.packs)
    later = m.utcnow() + timedelta(days=2)
    assert reclaimer.run(grace=timedelta(hours=1), repack_below=0, now=later).condemned == 0
    assert _expire(core, timedelta(days=1, hours=1)) == {v.id}
    marked = reclaimer.run(grace=timedelta(hours=1), repack_below=0, now=later)
    assert marked.condemned == len(only) + 1  # the files and the manifest
    swept = reclaimer.run(grace=timedelta(hours=1), repack_below=0, now=later + timedelta(hours=2))
    assert swept.blobs_deleted == len(only) + 1
    assert set(core.service.missing_blobs([hexmd5(b) for b in only.values()])) == {
        hexmd5(b) for b in only.values()
    }


@pytest.mark.parametrize("bad", [0, -3, -1000, 1.5, "1", True])
def test_a_ttl_must_be_positive_seconds_or_a_sentinel(core: Core, entity: str, bad: object) -> None:
    v = log(core.service, entity, "ds", {"a": b"a"})
    with pytest.raises(ValidationError):
        _ttl(core, v.id, bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        core.service.set_default_ttl(entity, 0)


def test_only_admins_expire_and_set_defaults(core: Core, entity: str) -> None:
    log(core.service, entity, "ds", {"a": b"a"})
    member = core.service.bind(Principal(name="bob", roles={entity: "member"}))
    with pytest.raises(PermissionDeniedError):
        member.expire_versions()
    with pytest.raises(PermissionDeniedError):
        member.set_default_ttl(entity, DAY)
    admin = core.service.bind(Principal(name="carol", roles={entity: "admin"}))
    admin.set_default_ttl(entity, DAY)
    assert member.get_default_ttl(entity) == DAY


def test_one_replica_at_a_time_runs_maintenance(core: Core) -> None:
    with core.db.write() as s:
        assert try_hold_maintenance(s)
        if core.kind != "pg-s3":
            return  # SQLite has one writer at a time: nothing else to hold
        with core.db.write() as other:
            assert not try_hold_maintenance(other)
    with core.db.write() as s:
        assert try_hold_maintenance(s)  # released with the transaction
