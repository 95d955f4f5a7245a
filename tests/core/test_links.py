"""Portfolio memberships in the core: the usage edge names the membership a run used."""

from __future__ import annotations

import pytest

from cairn.core.db import models as m
from cairn.errors import ArtifactNotFoundError
from tests.core.conftest import Core
from tests.core.helpers import log


def _edge_link(core: Core, version_id: str) -> int | None:
    with core.db.read() as s:
        ver = s.query(m.Version).filter_by(public_id=version_id).one()
        return s.query(m.RunInput).filter_by(version_id=ver.id).one().link_id


def test_a_use_through_a_portfolio_records_the_membership(core: Core, entity: str) -> None:
    v = log(core.service, entity, "ds", {"a": b"a"})
    linked = core.service.link_version(v.id, entity, "p", "best", [])
    assert linked.link_id is not None
    run = core.service.create_run(entity, "p")
    core.service.use_version(entity, "p", run.id, v.id, None, linked.link_id)
    assert _edge_link(core, v.id) == int(linked.link_id)
    # Unlinking keeps the edge (the run did use the version), without the membership.
    core.service.unlink_version(linked.link_id)
    assert _edge_link(core, v.id) is None


def test_a_membership_of_another_version_is_refused(core: Core, entity: str) -> None:
    a = log(core.service, entity, "ds", {"a": b"a"})
    b = log(core.service, entity, "ds", {"b": b"b"})
    linked = core.service.link_version(a.id, entity, "p", "best", [])
    assert linked.link_id is not None
    run = core.service.create_run(entity, "p")
    with pytest.raises(ArtifactNotFoundError):
        core.service.use_version(entity, "p", run.id, b.id, None, linked.link_id)
