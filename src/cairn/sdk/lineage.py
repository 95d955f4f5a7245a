"""The lineage graph the SDK hands out: :meth:`Artifact.lineage` and :meth:`Run.lineage`.

W&B has no such call, so its shape is Cairn's own: a frozen graph of :class:`LineageNode`
(runs, artifact versions and portfolio memberships, "links") and :class:`LineageEdge`
(``logged``: run → version; ``used``: version → run, or link → run when the run used the
version through a portfolio; ``linked``: version → link), with the walk's root, direction and
depth::

    run ──logged──▶ version ──used──▶ run
                    version ──linked──▶ link ──used──▶ run

    graph = model.lineage(direction="upstream", depth=4)
    for node in graph.artifacts():        # the versions reached, nearest first
        print(node.depth, node.path)      # e.g. 2 me/proj/clean-data:v3
    graph.upstream(graph.root)            # the run that logged the root
    cairn.Api().artifact(node.path)       # a node back as an Artifact
    graph.links()                         # memberships: path is entity/project/portfolio:vK

A node the caller may not read stays in the graph as a placeholder (``hidden``; no name or
id), so paths through it keep their shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cairn.records import LineageEdge, LineageNode, LineageRecord

__all__ = ["LineageEdge", "LineageGraph", "LineageNode"]


@dataclass(frozen=True)
class LineageGraph:
    """Runs, versions and links around ``root`` that a walk of ``depth`` edges reached.

    ``direction`` is ``"upstream"`` (where the root came from), ``"downstream"`` (what it
    became) or ``"both"``. ``nodes`` are ordered nearest first; ``edges`` point the way data
    flowed.
    """

    root: LineageNode
    direction: str
    depth: int
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]

    @classmethod
    def _from_record(cls, record: LineageRecord) -> LineageGraph:
        root = next(n for n in record.nodes if n.key == record.root)
        return cls(root, record.direction, record.depth, record.nodes, record.edges)

    def node(self, key: str) -> LineageNode:
        """The node with this key. Raises :class:`KeyError` if the graph has none."""
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(key)

    def artifacts(self) -> list[LineageNode]:
        """The artifact versions the caller may read, nearest first."""
        return [n for n in self.nodes if n.kind == "version" and not n.hidden]

    def links(self) -> list[LineageNode]:
        """The portfolio memberships the caller may read, nearest first: each node is the
        portfolio's ``vK`` (``path`` is ``entity/project/portfolio:vK``), with a ``linked``
        edge from its source version. :meth:`artifacts` does not include them."""
        return [n for n in self.nodes if n.kind == "link" and not n.hidden]

    def runs(self) -> list[LineageNode]:
        """The runs the caller may read, nearest first."""
        return [n for n in self.nodes if n.kind == "run" and not n.hidden]

    def upstream(self, node: LineageNode | str) -> list[LineageNode]:
        """The nodes with an edge into ``node`` (what it came from directly)."""
        key = node if isinstance(node, str) else node.key
        return [self.node(e.source) for e in self.edges if e.target == key]

    def downstream(self, node: LineageNode | str) -> list[LineageNode]:
        """The nodes ``node`` has an edge to (what it became directly)."""
        key = node if isinstance(node, str) else node.key
        return [self.node(e.target) for e in self.edges if e.source == key]

    def __iter__(self) -> Iterator[LineageNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, LineageNode):
            key = key.key
        return any(n.key == key for n in self.nodes)

    def __repr__(self) -> str:
        return (
            f"<LineageGraph {self.direction} of {self.root.key} depth={self.depth}: "
            f"{len(self.nodes)} nodes, {len(self.edges)} edges>"
        )
