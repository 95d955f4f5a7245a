"""Request bodies on the wire, as pydantic models (strict: no silent type coercion).

Responses are the frozen records' ``to_wire()`` dictionaries (:mod:`cairn.records`), the same
objects the embedded backend hands the SDK.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RunIn(_In):
    run_id: str | None = None
    name: str | None = None
    job_type: str | None = None
    group: str | None = None
    config: dict[str, Any] | None = None


class FinishRunIn(_In):
    state: str = "finished"


class UseIn(_In):
    version_id: str
    use_as: str | None = None
    link_id: str | None = None  # the portfolio membership it was used through


class VersionSpecIn(_In):
    entity: str
    project: str
    collection: str
    type: str
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    run_id: str | None = None
    distributed_id: str | None = None
    incremental: bool = False
    ttl_seconds: int = -1  # see cairn.records.TTL_INHERIT


class EntriesIn(_In):
    manifest: dict[str, Any]


class CommitIn(_In):
    manifest: dict[str, Any] | None = None
    aliases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class CommitUnchangedIn(_In):
    digest: str = Field(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")
    aliases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class UpdateIn(_In):
    description: str | None = None
    metadata: dict[str, Any] | None = None
    aliases: list[str] | None = None
    tags: list[str] | None = None
    clear_description: bool = False
    ttl_seconds: int | None = None
    latest: bool | None = None


class FilesQueryIn(_In):
    names: list[str] | None = None
    after: str | None = None
    limit: int = Field(default=50, ge=1, le=10_000)


class DigestsIn(_In):
    digests: list[str]


class BlobSizeIn(_In):
    digest: str
    size: int = Field(ge=0)


class UploadPlanIn(_In):
    blobs: list[BlobSizeIn]


class PartIn(_In):
    number: int = Field(ge=1, le=10_000)
    md5: str  # base64 MD5 of the part's bytes, signed into its URL
    size: int = Field(ge=0)


class PartsIn(_In):
    upload_id: str
    parts: list[PartIn] = Field(max_length=10_000)


class CompleteIn(_In):
    upload_id: str


class GcIn(_In):
    pending_older_than_seconds: float = Field(default=86_400.0, ge=0)


class VisibilityIn(_In):
    visibility: Literal["private", "public"]


class ReclaimIn(_In):
    grace_seconds: float = Field(default=86_400.0, ge=0)
    repack_below: float = Field(default=0.5, ge=0, le=1)


class LinkIn(_In):
    entity: str
    project: str
    portfolio: str
    aliases: list[str] = Field(default_factory=list)


class AliasesIn(_In):
    aliases: list[str]


class CollectionUpdateIn(_In):
    description: str | None = None
    tags: list[str] | None = None


class DefaultTTLIn(_In):
    seconds: int | None  # None: versions that inherit never expire


class ExpireIn(_In):
    dry_run: bool = False


# -- what a run records (cairn.core.run_data) -------------------------------------------------
class RunUpdateIn(_In):
    history: list[dict[str, Any]] = Field(default_factory=list)
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    tags: list[str] | None = None
    notes: str | None = None
    exit_code: int | None = None
    state: str | None = None
