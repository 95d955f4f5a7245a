"""Registries: an entity's named sets of portfolios, for promoting models and datasets.

A registry is a project of an entity (a user or a team) named the W&B way,
``wandb-registry-NAME``, with a ``registries`` row for its name and description. Its portfolios
are the project's; who may see and change it is the project's rule
(:mod:`cairn.core.permissions`: the entity's viewer / member / admin roles), kept in one place.
The legacy model registry, ``model-registry``, is the registry ``model``: both spellings name
the same project, so ``model-registry/NAME`` and ``wandb-registry-model/NAME`` are one portfolio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.db import models as m
from cairn.records import RegistryRecord

if TYPE_CHECKING:
    from cairn.core.service import Service

PREFIX = "wandb-registry-"
MODEL_REGISTRY = "model-registry"  # W&B's legacy model registry: the registry "model"


def canonical_project(project: str) -> str:
    """The project a registry path names (``model-registry`` → ``wandb-registry-model``)."""
    return f"{PREFIX}model" if project == MODEL_REGISTRY else project


def registry_name(project: str) -> str | None:
    """The registry a project is (None: an ordinary project)."""
    project = canonical_project(project)
    if project.startswith(PREFIX) and len(project) > len(PREFIX):
        return project[len(PREFIX) :]
    return None


def ensure_for_project(s: Session, project: m.Project) -> None:
    """Record a registry project as a registry the first time something is linked into it."""
    name = registry_name(project.name)
    if name is not None and s.get(m.Registry, project.id) is None:
        s.add(m.Registry(project_id=project.id, name=name))
        s.flush()


def list_registries(svc: Service, entity: str | None = None) -> list[RegistryRecord]:
    """The registries the caller may read (of one entity, or of every entity), by name."""
    with svc.db.read() as s:
        q = (
            select(m.Registry, m.Project, m.Entity)
            .join(m.Project, m.Project.id == m.Registry.project_id)
            .join(m.Entity, m.Entity.id == m.Project.entity_id)
        )
        if entity is not None:
            q = q.where(m.Entity.name == entity)
        out = []
        for reg, proj, ent in s.execute(q.order_by(m.Entity.name, m.Registry.name)).all():
            if svc._may(s, proj, "read"):
                out.append(
                    RegistryRecord(
                        name=reg.name,
                        entity=ent.name,
                        project=proj.name,
                        description=reg.description,
                        created_at=m.as_utc(reg.created_at),
                    )
                )
        return out
