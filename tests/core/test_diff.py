"""Diffs computed in the database: counts, the differing entries page by page in path order,
and value changes, between versions of one collection or of two."""

from __future__ import annotations

import pytest

from cairn.core import diff
from cairn.core.access import Principal
from cairn.core.service import Service
from cairn.errors import ArtifactNotFoundError
from cairn.manifest import md5_b64
from cairn.records import VersionUpdate
from tests.core.conftest import Core
from tests.core.helpers import log


@pytest.fixture
def svc(core: Core) -> Service:
    if core.kind == "packs":
        pytest.skip("blob packing does not touch diffs")
    return core.service


def test_counts_entries_and_value_changes(svc: Service, entity: str) -> None:
    a = log(svc, entity, "d", {"same": b"s", "gone": b"g", "edit": b"old", "edit2": b"o2"})
    b = log(svc, entity, "other", {"same": b"s", "edit": b"new!", "edit2": b"n2", "new": b"n"})
    svc.update_version(a.id, VersionUpdate(metadata={"lr": 1, "keep": True, "drop": 0}))
    svc.update_version(b.id, VersionUpdate(metadata={"lr": 2, "keep": True, "add": "x"}))

    got = diff.summary(svc, a.id, b.id)
    assert (got.added, got.removed, got.changed, got.unchanged) == (1, 1, 2, 1)
    assert [(c.key, c.status, c.old, c.new) for c in got.metadata] == [
        ("add", "added", None, "x"),
        ("drop", "removed", 0, None),
        ("lr", "changed", 1, 2),
    ]
    entries, nxt = diff.entries(svc, a.id, b.id)
    assert nxt is None
    assert [(e.path, e.status) for e in entries] == [
        ("edit", "changed"),
        ("edit2", "changed"),
        ("gone", "removed"),
        ("new", "added"),
    ]
    edit = entries[0]
    assert (edit.old_digest, edit.old_size, edit.new_digest, edit.new_size) == (
        md5_b64(b"old"),
        3,
        md5_b64(b"new!"),
        4,
    )
    gone, new = entries[2], entries[3]
    assert (gone.new_digest, gone.new_size, new.old_digest, new.old_size) == (None,) * 4


def test_entries_page_through_a_larger_diff(svc: Service, entity: str) -> None:
    a = log(svc, entity, "d", {f"f{i:03}": bytes([i]) for i in range(0, 60)})
    b = log(svc, entity, "d", {f"f{i:03}": bytes([i, 1]) for i in range(30, 90)})
    summary = diff.summary(svc, a.id, b.id)
    assert (summary.added, summary.removed, summary.changed, summary.unchanged) == (30, 30, 30, 0)
    seen, after = [], None
    while True:
        page, after = diff.entries(svc, a.id, b.id, after=after, limit=7)
        assert len(page) <= 7
        seen += page
        if after is None:
            break
    assert [e.path for e in seen] == [f"f{i:03}" for i in range(90)]
    assert {e.status for e in seen[:30]} == {"removed"}
    assert {e.status for e in seen[60:]} == {"added"}


def test_a_version_against_itself_is_all_unchanged(svc: Service, entity: str) -> None:
    a = log(svc, entity, "d", {"x": b"x", "y": b"y"})
    got = diff.summary(svc, a.id, a.id)
    assert (got.added, got.removed, got.changed, got.unchanged) == (0, 0, 0, 2)
    assert got.metadata == () and got.fields == ()
    assert diff.entries(svc, a.id, a.id) == ([], None)


def test_both_versions_must_be_readable(core: Core, entity: str) -> None:
    if core.kind == "packs":
        pytest.skip("blob packing does not touch diffs")
    mine = log(core.service, entity, "d", {"x": b"x"})
    theirs = log(core.service, entity + "-other", "d", {"x": b"y"})
    viewer = core.service.bind(Principal(name="v", roles={entity: "viewer"}))
    assert diff.summary(viewer, mine.id, mine.id).unchanged == 1
    with pytest.raises(ArtifactNotFoundError):
        diff.summary(viewer, mine.id, theirs.id)
    with pytest.raises(ArtifactNotFoundError):
        diff.entries(viewer, theirs.id, mine.id)
