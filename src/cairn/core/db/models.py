"""Database tables.

What must be queried lives here: entities, projects, collections, versions with their aliases
and tags, the path index of each version (for ``files()`` pagination), runs and lineage, and the
set of blobs the store is known to hold. Manifests themselves are blobs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# SQLite stores datetimes without a zone; keep UTC everywhere and mark it on the way out.
class UTCDateTime(DateTime):
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Entity(Base):
    __tablename__ = "entities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="user")  # user | team
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What versions that inherit their TTL live for (None: forever); see cairn.core.ttl.
    default_ttl_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("entity_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Collection(Base):
    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # sequence: versions of its own; portfolio: links to versions of sequences (cairn.core.links)
    kind: Mapped[str] = mapped_column(String(16), default="sequence", server_default="sequence")
    tags: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The index the next committed version gets. Bumped with UPDATE ... RETURNING inside the
    # commit transaction, which row-locks the collection on PostgreSQL (SQLite serialises all
    # writers), so concurrent commits never share or skip an index.
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("project_id", "public_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    job_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    group: Mapped[str | None] = mapped_column("group_name", String(128), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # What a training script records on its run (cairn.core.run_data; migration 0006).
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("collection_id", "version_index"),
        Index("ix_versions_collection_state_index", "collection_id", "state", "version_index"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    index: Mapped[int | None] = mapped_column("version_index", Integer, nullable=True)
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    manifest_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    distributed_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
    )
    ttl_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # True: the entity's default TTL applies and ttl_seconds is unused (see cairn.core.ttl).
    ttl_inherit: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Alias(Base):
    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("collection_id", "alias"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(128))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), index=True
    )


class Tag(Base):
    __tablename__ = "tags"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class VersionFile(Base):
    """The path index of a committed version: one row per entry, for paging ``files()``."""

    __tablename__ = "version_files"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(4096), primary_key=True)
    digest: Mapped[str] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    birth_artifact_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # hex MD5 of a stored file's bytes (NULL for references): lets GC find live blobs by index.
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class RunInput(Base):
    """Lineage: a run used a version."""

    __tablename__ = "run_inputs"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    use_as: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The portfolio membership the run used the version through, if any.
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("links.id", ondelete="SET NULL"), nullable=True, index=True
    )


class RunHistoryRow(Base):
    """One step of a run's history: the JSON text of what was logged at that step (text, not
    JSON, so NaN and infinities survive as W&B keeps them)."""

    __tablename__ = "run_history"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    row: Mapped[str] = mapped_column(Text)


class RunTag(Base):
    __tablename__ = "run_tags"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(256), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # tags keep the order given


class RunFile(Base):
    """A file a run saved (the W&B client's run files: ``config.yaml``, ``output.log``,
    ``wandb.save``), its bytes kept in the row (cairn.core.run_files; migration 0013)."""

    __tablename__ = "run_files"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Pack(Base):
    """A stored object holding many small blobs back to back (see :mod:`cairn.core.packs`).

    Its name is random, never derived from its content, so a pack object is written exactly
    once and no later upload can land on the name of a pack that GC is about to delete.
    """

    __tablename__ = "packs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the object's name
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))  # of the whole object, for audits
    blob_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set once no blob row points here any more. The object outlives this by GC's grace
    # period, so readers that located a blob here just before still find its bytes.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class Blob(Base):
    """A blob the store holds, recorded only after its bytes were checked against the digest.

    A small blob may live inside a pack (``pack_id`` and ``pack_offset`` set) instead of as an
    object of its own. Every row's location holds its bytes: GC removes an object only together
    with its row (see :mod:`cairn.core.gc`). ``condemned_at`` is GC's first mark: the blob was
    unreferenced then; clients are told it is missing (so they send it again), and whatever
    starts to use it clears the mark.
    """

    __tablename__ = "blobs"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex MD5
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pack_id: Mapped[str | None] = mapped_column(ForeignKey("packs.id"), nullable=True, index=True)
    pack_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    condemned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    # GC's second mark: its bytes may be going. Such a row counts as absent everywhere; only an
    # upload that finds the bytes in the store (checked under the row's lock) brings it back.
    deleting: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# -- portfolios and registries (cairn.core.links, cairn.core.registries) -------------------------


class Link(Base):
    """A membership: a version of a sequence, linked into a portfolio as the portfolio's vK."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("portfolio_id", "version_id", name="uq_links_portfolio_version"),
        UniqueConstraint("portfolio_id", "link_index", name="uq_links_portfolio_index"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column("link_index", Integer)
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkAlias(Base):
    """An alias of a portfolio: it names one membership of that portfolio."""

    __tablename__ = "link_aliases"
    __table_args__ = (UniqueConstraint("portfolio_id", "alias"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(128))
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)


class Registry(Base):
    """A project of an entity that holds portfolios for promotion (W&B's ``wandb-registry-X``).

    Access is the project's: the entity's viewer/member/admin roles (cairn.core.permissions).
    """

    __tablename__ = "registries"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BlobUpload(Base):
    """A blob whose bytes an account uploaded and the server verified: its proof of possession.

    Knowing a digest proves nothing, so a commit may name a blob only if its caller can read a
    version holding it or has a row here (:mod:`cairn.core.possession`). Removed with the blob.
    """

    __tablename__ = "blob_uploads"
    account: Mapped[str] = mapped_column(String(128), primary_key=True)  # the user's name
    digest: Mapped[str] = mapped_column(
        ForeignKey("blobs.digest", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- accounts (the team server) ------------------------------------------------------------------


class User(Base):
    """Someone who signs in with API keys. Their personal entity carries the same name."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(
        ForeignKey("entities.id", ondelete="CASCADE"), unique=True
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Membership(Base):
    """A user's role (viewer, member, admin) in a team entity."""

    __tablename__ = "memberships"
    entity_id: Mapped[int] = mapped_column(
        ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key, stored only as the SHA-256 of the key (keys are long random strings)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(32))  # shown in listings to tell keys apart
    label: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MultipartUpload(Base):
    """A presigned multipart upload in progress, so its account can resume it on any replica.

    One per blob and account: completing an upload proves possession, so nobody may finish
    (or resume) another account's upload of the same bytes.
    """

    __tablename__ = "multipart_uploads"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex MD5 of the blob
    account: Mapped[str] = mapped_column(String(128), primary_key=True, server_default="")
    upload_id: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    part_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommitToken(Base):
    """The key a client sent with a commit, and the version that commit answered with.

    A commit whose answer was lost (the server died after its transaction, the connection
    dropped) is retried with the same key; the server finds the version here instead of
    refusing a version that is no longer PENDING. Keyed by the pending version's id, which a
    deduplicated commit deletes (``version_id`` is then the latest version it answered with).
    """

    __tablename__ = "commit_tokens"
    pending_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(128))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), index=True
    )
    deduplicated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- lineage and history -------------------------------------------------------------------------

# The lineage walk follows "run logged version" edges from the run's side (cairn.core.lineage).
Index("ix_versions_run_id", Version.run_id)


class HistoryEvent(Base):
    """One change to a version or collection, appended and never updated (cairn.core.history).

    No foreign keys: the trail must outlive what it describes (a deleted version, and later a
    deleted collection), so it holds the ids as plain numbers and the actor as a name.
    """

    __tablename__ = "history_events"
    __table_args__ = (
        Index("ix_history_events_collection", "collection_id", "id"),
        Index("ix_history_events_version", "version_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Installation(Base):
    """The id this database shares with its blob store (cairn.core.stamp): one row, or none
    before a server first paired them."""

    __tablename__ = "installation"
    # Always 1: concurrent first starts of replicas race on this key, and one id wins.
    key: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- web UI sign-in (cairn.core.sessions) --------------------------------------------------------


class UserPassword(Base):
    """A password an admin set for a user, as a salted scrypt hash (cairn.core.accounts)."""

    __tablename__ = "user_passwords"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UiSession(Base):
    """A signed-in browser: the SHA-256 of its cookie's random token, and its CSRF token.

    Kept in the database (not in a signed cookie) so any replica can check it and sign-out,
    a revoked key or a disabled user end it at once. ``api_key_id``: the key it signed in
    with (revoking the key ends the session), None for a password sign-in.
    """

    __tablename__ = "ui_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=True, index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
