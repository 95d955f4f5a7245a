"""The GraphQL face: W&B's API subset, so the official ``wandb`` client works unchanged.

One executable schema, built once per app from

* every ``schema/*.graphql`` file, merged (``base.graphql`` has the roots and shared types;
  each module's file extends them), and
* the ``BINDABLES`` (Ariadne ``QueryType``/``MutationType``/``ObjectType``… objects) of each
  resolver module in :data:`MODULES`.

A resolver is a thin adapter: it parses arguments, makes core calls through
:attr:`Context.service <cairn.server.graphql.context.Context.service>` (the caller's
permissions apply) and shapes the answer. To add a group of operations, add ``<name>.graphql``
and ``<name>.py`` (with ``BINDABLES``) and one line here.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from ariadne import load_schema_from_path, make_executable_schema
from graphql import GraphQLSchema

from cairn.server.graphql import (
    artifact_edits,
    artifact_reads,
    artifact_saves,
    projects,
    runs,
    scalars,
    viewer,
)

SCHEMA_DIR = Path(__file__).parent / "schema"

MODULES: list[ModuleType] = [
    scalars,
    viewer,
    projects,
    artifact_saves,
    artifact_reads,
    artifact_edits,
    runs,
]


def build_schema() -> GraphQLSchema:
    """The executable schema: all SDL files merged, every module's resolvers bound."""
    bindables: list[Any] = [b for module in MODULES for b in module.BINDABLES]
    return make_executable_schema(load_schema_from_path(str(SCHEMA_DIR)), *bindables)


__all__ = ["MODULES", "SCHEMA_DIR", "build_schema"]
