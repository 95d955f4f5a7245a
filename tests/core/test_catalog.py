"""Catalog reads cost a fixed number of statements, and answer as the rules say.

A team server answers these most (resolve ``name:alias``, page versions and collections), so a
page of fifty must not cost fifty times a page of one; and an outsider's miss must read exactly
like a miss.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from cairn.core.access import Principal
from cairn.errors import ArtifactNotFoundError
from cairn.records import VersionUpdate
from tests.core.conftest import Core
from tests.core.helpers import log


@contextmanager
def selects(core: Core) -> Iterator[list[str]]:
    """The SELECT statements the core sends to its database inside the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(core.db.engine, "before_cursor_execute", count)


def _versions(core: Core, entity: str, n: int) -> list[str]:
    ids = [log(core.service, entity, "ds", {"f.txt": f"v{i}".encode()}).id for i in range(n)]
    core.service.update_version(ids[3], VersionUpdate(aliases=("best",), tags=("t1", "t2")))
    return ids


def test_resolve_takes_two_statements_and_finds_each_kind_of_name(core: Core, entity: str) -> None:
    ids = _versions(core, entity, 6)
    svc = core.service.bind(Principal(name=entity, roles={entity: "viewer"}))
    for alias, want in (("latest", ids[-1]), ("v2", ids[2]), ("best", ids[3])):
        with selects(core) as seen:
            rec = svc.resolve(entity, "p", "ds", alias)
        assert rec.id == want
        assert len(seen) == 2, seen  # the version row, then its aliases and tags
    best = svc.resolve(entity, "p", "ds", "best")
    assert best.aliases == ("best",) and best.tags == ("t1", "t2")
    assert svc.resolve(entity, "p", "ds", "latest").aliases[0] == "latest"


def test_a_page_of_fifty_costs_what_a_page_of_one_costs(core: Core, entity: str) -> None:
    _versions(core, entity, 55)
    svc = core.service
    with selects(core) as one:
        page1, _ = svc.list_versions(entity, "p", "ds", limit=1)
    with selects(core) as fifty:
        page50, nxt = svc.list_versions(entity, "p", "ds", limit=50)
    assert len(page1) == 1 and len(page50) == 50 and nxt == 49
    assert len(fifty) == len(one), (len(one), len(fifty))
    # Each record of the page is the record of that version read on its own.
    for rec in page50[:5]:
        assert svc.get_version(rec.id) == rec
    assert [r.index for r in page50] == list(range(50))
    rest, end = svc.list_versions(entity, "p", "ds", after_index=nxt, limit=50)
    assert [r.index for r in rest] == [50, 51, 52, 53, 54] and end is None


def test_an_outsider_misses_exactly_as_on_a_project_that_does_not_exist(
    core: Core, entity: str
) -> None:
    _versions(core, entity, 4)
    outsider = core.service.bind(Principal(name="someone-else", roles={}))
    with pytest.raises(ArtifactNotFoundError) as theirs:
        outsider.resolve(entity, "p", "ds", "latest")
    with pytest.raises(ArtifactNotFoundError) as none:
        outsider.resolve(entity, "nope", "ds", "latest")
    assert str(theirs.value).replace("/p/", "/X/") == str(none.value).replace("/nope/", "/X/")
    member = core.service.bind(Principal(name=entity, roles={entity: "viewer"}))
    with pytest.raises(ArtifactNotFoundError, match="no artifact named 'other'"):
        member.resolve(entity, "p", "other", "latest")


def test_collections_page_in_name_order_and_hide_the_empty(core: Core, entity: str) -> None:
    for name in ("c3", "c1", "c2", "c4"):
        log(core.service, entity, name, {"f": name.encode()})
    core.service.update_version(
        core.service.resolve(entity, "p", "c2", "latest").id, VersionUpdate(aliases=("prod",))
    )
    svc = core.service
    first = svc.list_collections(entity, "p", limit=2)
    assert [c.name for c in first] == ["c1", "c2"]
    assert first[1].aliases == ("latest", "prod") and first[1].version_count == 1
    rest = svc.list_collections(entity, "p", after="c2", limit=10)
    assert [c.name for c in rest] == ["c3", "c4"]
