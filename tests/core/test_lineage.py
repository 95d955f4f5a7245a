"""The lineage graph, straight through the core on SQLite and PostgreSQL: one recursive query,
the right nodes and edges for each direction and depth, and placeholders for what the caller
may not read."""

from __future__ import annotations

import pytest

from cairn.core import lineage
from cairn.core.access import Principal
from cairn.errors import ArtifactNotFoundError, ValidationError
from cairn.manifest import Manifest, ManifestEntry, md5_b64
from cairn.records import LineageRecord, VersionSpec
from tests.core.conftest import Core
from tests.core.helpers import log, upload


@pytest.fixture(autouse=True)
def _one_per_database(core: Core) -> None:
    if core.kind == "packs":
        pytest.skip("blob packing does not touch lineage")


def _edges(g: LineageRecord) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in g.edges}


def _pipeline(core: Core, entity: str) -> dict[str, str]:
    """raw ─used▶ prep ─logged▶ clean ─used▶ train ─logged▶ model ─used▶ evaluate; and
    other ─used▶ train (a second input). Returns node keys by name."""
    svc = core.service
    keys: dict[str, str] = {}
    raw = log(svc, entity, "raw", {"a.txt": b"raw"})
    other = log(svc, entity, "other", {"o.txt": b"other"})
    for run_id in ("prep", "train", "evaluate"):
        svc.create_run(entity, "p", run_id=run_id)
        keys[run_id] = f"run:{entity}/p/{run_id}"
    svc.use_version(entity, "p", "prep", raw.id)

    def logged_by(run_id: str, name: str, data: bytes) -> str:
        vid = svc.begin_version(VersionSpec(entity, "p", name, "dataset", run_id=run_id))
        upload(svc, [data])
        rec = svc.commit_version(
            vid, Manifest([ManifestEntry(path="f", digest=md5_b64(data), size=len(data))])
        )
        return rec.id

    clean = logged_by("prep", "clean", b"clean")
    svc.use_version(entity, "p", "train", clean)
    svc.use_version(entity, "p", "train", other.id)
    model = logged_by("train", "model", b"model")
    svc.use_version(entity, "p", "evaluate", model)
    for name, vid in (("raw", raw.id), ("other", other.id), ("clean", clean), ("model", model)):
        keys[name] = f"version:{vid}"
        keys[name + "_id"] = vid
    return keys


def test_downstream_upstream_and_both_follow_logged_and_used_edges(core: Core, entity: str) -> None:
    k = _pipeline(core, entity)
    down = lineage.of_version(core.service, k["raw_id"], direction="downstream", depth=10)
    assert down.root == k["raw"]
    assert {n.key: n.depth for n in down.nodes} == {
        k["raw"]: 0,
        k["prep"]: 1,
        k["clean"]: 2,
        k["train"]: 3,
        k["model"]: 4,
        k["evaluate"]: 5,
    }
    assert _edges(down) == {
        (k["raw"], k["prep"], "used"),
        (k["prep"], k["clean"], "logged"),
        (k["clean"], k["train"], "used"),
        (k["train"], k["model"], "logged"),
        (k["model"], k["evaluate"], "used"),
    }
    up = lineage.of_version(core.service, k["model_id"], direction="upstream", depth=10)
    assert {n.key for n in up.nodes} == {
        k["model"],
        k["train"],
        k["clean"],
        k["other"],
        k["prep"],
        k["raw"],
    }
    assert (k["other"], k["train"], "used") in _edges(up)
    assert k["evaluate"] not in {n.key for n in up.nodes}  # upstream never goes down

    both = lineage.of_version(core.service, k["clean_id"], direction="both", depth=10)
    # Both walks, not a zig-zag: "other" is a sibling input of train, not an ancestor of clean.
    assert {n.key for n in both.nodes} == {
        k["clean"],
        k["prep"],
        k["raw"],
        k["train"],
        k["model"],
        k["evaluate"],
    }


def test_depth_limits_the_walk(core: Core, entity: str) -> None:
    k = _pipeline(core, entity)
    g = lineage.of_version(core.service, k["raw_id"], direction="downstream", depth=2)
    assert {n.key for n in g.nodes} == {k["raw"], k["prep"], k["clean"]}
    assert max(n.depth for n in g.nodes) == 2


def test_run_lineage_starts_at_the_run(core: Core, entity: str) -> None:
    k = _pipeline(core, entity)
    g = lineage.of_run(core.service, entity, "p", "train", direction="both", depth=1)
    assert g.root == k["train"]
    assert {n.key for n in g.nodes} == {k["train"], k["clean"], k["other"], k["model"]}
    node = next(n for n in g.nodes if n.key == k["model"])
    assert (node.kind, node.name, node.version, node.type) == ("version", "model", "v0", "dataset")
    assert node.path == f"{entity}/p/model:v0"


def test_a_cycle_ends_at_the_depth_limit(core: Core, entity: str) -> None:
    svc = core.service
    ver = log(svc, entity, "d", {"x": b"x"})
    svc.create_run(entity, "p", run_id="r")
    svc.use_version(entity, "p", "r", ver.id)
    svc.use_version(entity, "p", "r", ver.id)  # idempotent
    g = lineage.of_version(svc, ver.id, direction="both", depth=1000)
    assert {n.kind for n in g.nodes} == {"version", "run"}
    assert len(g.nodes) == 2


def test_nodes_in_unreadable_projects_are_placeholders(core: Core, entity: str) -> None:
    svc = core.service
    secret_entity = entity + "-secret"
    secret = log(svc, secret_entity, "secret-data", {"s": b"s"})
    svc.create_run(entity, "p", run_id="train")
    svc.use_version(entity, "p", "train", secret.id)
    public = log(svc, entity, "public", {"p": b"p"})
    svc.use_version(entity, "p", "train", public.id)

    viewer = svc.bind(Principal(name="viewer", roles={entity: "viewer"}))
    g = lineage.of_run(viewer, entity, "p", "train", direction="upstream", depth=3)
    hidden = [n for n in g.nodes if n.hidden]
    assert len(hidden) == 1
    assert hidden[0].key.startswith("hidden:")
    assert (hidden[0].id, hidden[0].name, hidden[0].entity, hidden[0].project) == (
        None,
        None,
        None,
        None,
    )
    assert secret.id not in repr(g) and "secret" not in repr(g)
    assert (hidden[0].key, f"run:{entity}/p/train", "used") in _edges(g)
    with pytest.raises(ArtifactNotFoundError):
        lineage.of_version(viewer, secret.id)


@pytest.mark.parametrize(("direction", "depth"), [("sideways", 1), ("both", 0), ("both", 1001)])
def test_bad_direction_or_depth_is_a_validation_error(
    core: Core, entity: str, direction: str, depth: int
) -> None:
    ver = log(core.service, entity, "d", {"x": b"x"})
    with pytest.raises(ValidationError):
        lineage.of_version(core.service, ver.id, direction=direction, depth=depth)


def test_a_deleted_version_is_no_node_and_no_way_through(core: Core, entity: str) -> None:
    k = _pipeline(core, entity)
    core.service.delete_version(k["clean_id"])
    down = lineage.of_version(core.service, k["raw_id"], direction="downstream", depth=10)
    assert {n.key for n in down.nodes} == {k["raw"], k["prep"]}
    up = lineage.of_run(core.service, entity, "p", "train", direction="upstream", depth=10)
    assert {n.key for n in up.nodes} == {k["train"], k["other"]}


def _linked(core: Core, entity: str, portfolio_entity: str) -> dict[str, str]:
    """src ─linked▶ link (portfolio_entity/p/best:v0) ─used▶ eval, and src ─used▶ eval (the
    bytes it read). Returns node keys by name."""
    svc = core.service
    src = log(svc, entity, "model", {"w": b"weights"})
    if portfolio_entity != entity:
        log(svc, portfolio_entity, "elsewhere", {"e": b"e"})  # makes its project
    linked = svc.link_version(src.id, portfolio_entity, "p", "best", ["prod"])
    assert linked.link_id is not None
    svc.create_run(entity, "p", run_id="eval")
    svc.use_version(entity, "p", "eval", src.id, link_id=linked.link_id)
    return {
        "src": f"version:{src.id}",
        "src_id": src.id,
        "link": f"link:{linked.link_id}",
        "eval": f"run:{entity}/p/eval",
    }


def test_a_membership_is_a_link_node_between_its_source_and_the_run_that_used_it(
    core: Core, entity: str
) -> None:
    k = _linked(core, entity, entity)
    down = lineage.of_version(core.service, k["src_id"], direction="downstream", depth=10)
    assert {n.key: n.depth for n in down.nodes} == {k["src"]: 0, k["link"]: 1, k["eval"]: 1}
    assert _edges(down) == {
        (k["src"], k["link"], "linked"),
        (k["link"], k["eval"], "used"),
        (k["src"], k["eval"], "used"),
    }
    link = next(n for n in down.nodes if n.key == k["link"])
    assert (link.kind, link.name, link.version, link.type, link.hidden) == (
        "link",
        "best",
        "v0",
        "dataset",
        False,
    )
    assert link.path == f"{entity}/p/best:v0"

    up = lineage.of_run(core.service, entity, "p", "eval", direction="upstream", depth=10)
    assert {n.key: n.depth for n in up.nodes} == {k["eval"]: 0, k["link"]: 1, k["src"]: 1}
    assert (k["src"], k["link"], "linked") in _edges(up)
    assert (k["link"], k["eval"], "used") in _edges(up)


def test_a_link_in_an_unreadable_portfolio_is_a_placeholder(core: Core, entity: str) -> None:
    registry_entity = entity + "-registry"
    k = _linked(core, entity, registry_entity)
    viewer = core.service.bind(Principal(name="viewer", roles={entity: "viewer"}))
    g = lineage.of_version(viewer, k["src_id"], direction="downstream", depth=10)
    hidden = [n for n in g.nodes if n.hidden]
    assert [(n.kind, n.key, n.name, n.entity, n.index, n.path) for n in hidden] == [
        ("link", "hidden:1", None, None, None, None)
    ]
    assert registry_entity not in repr(g) and "best" not in repr(g)
    assert _edges(g) == {
        (k["src"], "hidden:1", "linked"),
        ("hidden:1", k["eval"], "used"),
        (k["src"], k["eval"], "used"),
    }
