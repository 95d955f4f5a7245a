"""The audit trail, straight through the core: every alias move (``latest`` too), tag change,
description and metadata edit and deletion is an event with who, when and before/after."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from cairn.core import history
from cairn.core.access import Principal
from cairn.core.service import Service
from cairn.errors import ArtifactNotFoundError, CollectionNotFoundError
from cairn.manifest import Manifest, ManifestEntry, md5_b64
from cairn.records import HistoryEvent, VersionRecord, VersionSpec, VersionUpdate
from tests.core.conftest import Core
from tests.core.helpers import upload


@pytest.fixture
def svc(core: Core) -> Service:
    if core.kind == "packs":
        pytest.skip("blob packing does not touch the history")
    return core.service.bind(Principal(name="alice", is_superuser=True))


def commit(
    svc: Service, entity: str, data: bytes, aliases: Sequence[str] = (), tags: Sequence[str] = ()
) -> VersionRecord:
    vid = svc.begin_version(VersionSpec(entity, "p", "d", "dataset"))
    upload(svc, [data])
    manifest = Manifest([ManifestEntry(path="f", digest=md5_b64(data), size=len(data))])
    return svc.commit_version(vid, manifest, aliases=aliases, tags=tags)


def actions(events: list[HistoryEvent]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in events]


def test_commits_move_latest_and_aliases_on_both_versions(svc: Service, entity: str) -> None:
    v0 = commit(svc, entity, b"0", aliases=["best"])
    v1 = commit(svc, entity, b"1", aliases=["best"])
    page, nxt = history.of_version(svc, v0.id)
    assert nxt is None
    assert actions(page) == [
        ("alias.added", {"alias": "latest", "from_version": None}),
        ("alias.added", {"alias": "best", "from_version": None}),
        ("alias.removed", {"alias": "latest", "to_version": v1.id}),
        ("alias.removed", {"alias": "best", "to_version": v1.id}),
    ]
    assert actions(history.of_version(svc, v1.id)[0]) == [
        ("alias.added", {"alias": "latest", "from_version": v0.id}),
        ("alias.added", {"alias": "best", "from_version": v0.id}),
    ]
    assert {(e.actor, e.version, e.collection) for e in page} == {("alice", "v0", "d")}


def test_edits_record_before_and_after(svc: Service, entity: str) -> None:
    v0 = commit(svc, entity, b"0", aliases=["a"], tags=["t1"])
    svc.update_version(
        v0.id,
        VersionUpdate(
            description="new",
            metadata={"lr": 0.1},
            aliases=("b",),
            tags=("t2",),
        ),
    )
    svc.update_version(v0.id, VersionUpdate(metadata={"lr": 0.1}))  # no change: no event
    events = actions(history.of_version(svc, v0.id)[0])
    assert events[:3] == [
        ("alias.added", {"alias": "latest", "from_version": None}),
        ("alias.added", {"alias": "a", "from_version": None}),
        ("tag.added", {"tag": "t1"}),
    ]
    assert sorted(events[3:], key=str) == sorted(
        [
            ("description.changed", {"before": None, "after": "new"}),
            ("metadata.changed", {"before": {}, "after": {"lr": 0.1}}),
            ("alias.removed", {"alias": "a", "to_version": None}),
            ("alias.added", {"alias": "b", "from_version": None}),
            ("tag.removed", {"tag": "t1"}),
            ("tag.added", {"tag": "t2"}),
        ],
        key=str,
    )


def test_deletion_is_recorded_and_latest_moves_back(svc: Service, entity: str) -> None:
    v0 = commit(svc, entity, b"0")
    v1 = commit(svc, entity, b"1", aliases=["prod"])
    svc.delete_version(v1.id, delete_aliases=True)
    with pytest.raises(ArtifactNotFoundError):
        history.of_version(svc, v1.id)  # the version is gone; its events stay in the collection
    page, _ = history.of_collection(svc, entity, "p", "d")
    tail = [(e.action, e.version_id, e.details) for e in page[-4:]]
    assert tail == [
        ("version.deleted", v1.id, {"aliases": ["prod"]}),
        ("alias.removed", v1.id, {"alias": "prod", "to_version": None}),
        ("alias.removed", v1.id, {"alias": "latest", "to_version": v0.id}),
        ("alias.added", v0.id, {"alias": "latest", "from_version": v1.id}),
    ]


def test_collection_history_pages_oldest_first(svc: Service, entity: str) -> None:
    for i in range(4):
        commit(svc, entity, bytes([i]))
    first, nxt = history.of_collection(svc, entity, "p", "d", limit=3)
    assert len(first) == 3 and nxt == first[-1].id
    rest, end = history.of_collection(svc, entity, "p", "d", after=nxt, limit=100)
    assert end is None
    ids = [e.id for e in first + rest]
    assert ids == sorted(ids) and len(ids) == 7  # latest: 1 + 2 per later commit


def test_reading_needs_read_access_on_the_project(core: Core, entity: str) -> None:
    if core.kind == "packs":
        pytest.skip("blob packing does not touch the history")
    commit(core.service, entity, b"0")
    stranger = core.service.bind(Principal(name="stranger"))
    with pytest.raises(CollectionNotFoundError):
        history.of_collection(stranger, entity, "p", "d")
    viewer = core.service.bind(Principal(name="viewer", roles={entity: "viewer"}))
    assert history.of_collection(viewer, entity, "p", "d")[0]
