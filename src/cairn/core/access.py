"""Who is calling the core, and what they may do.

The embedded store runs as :data:`LOCAL`, the single user of a local store, who may do
anything. The team server binds each request's principal; project permissions are checked in
:class:`~cairn.core.service.Service` through :meth:`Principal.may`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

READ = "read"
WRITE = "write"
ADMIN = "admin"

ROLE_RANK = {"viewer": 1, "member": 2, "admin": 3}
NEEDED_RANK = {READ: 1, WRITE: 2, ADMIN: 3}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``roles`` maps an entity name to the caller's role in it."""

    name: str
    is_superuser: bool = False
    roles: dict[str, str] = field(default_factory=dict)

    def role_in(self, entity: str) -> str | None:
        return self.roles.get(entity)


LOCAL = Principal(name="local", is_superuser=True)
