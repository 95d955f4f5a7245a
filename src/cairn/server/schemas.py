"""Request bodies on the wire, as pydantic models (strict: no silent type coercion).

Every body passes one validation layer, :meth:`_In._storable`: no string or key in it holds a
control character, no integer is wider than 64 bits, no float is infinite
(:mod:`cairn.validation`). So hostile input is a 422 before any route or database sees it.

Responses are the frozen records' ``to_wire()`` dictionaries (:mod:`cairn.records`), the same
objects the embedded backend hands the SDK; failures are :class:`ErrorOut`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cairn.validation import INT64_MAX, check_json

# A duration longer than this is a mistake, and past ~2.7e11 s a datetime overflows.
MAX_SECONDS = 100 * 365 * 86_400.0

Size = Annotated[int, Field(ge=0, le=INT64_MAX)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    # Fields whose floats may be NaN or infinite (a run's metrics; the core stores them).
    _nonfinite: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _storable(self) -> _In:
        for name in type(self).model_fields:
            check_json(getattr(self, name), name, finite=name not in self._nonfinite)
        return self


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. 'not_found'")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    """The one body of every failed request."""

    error: ErrorDetail


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
    size: Size


class UploadPlanIn(_In):
    blobs: list[BlobSizeIn]


class PartIn(_In):
    number: int = Field(ge=1, le=10_000)
    md5: str  # base64 MD5 of the part's bytes, signed into its URL
    size: Size


class PartsIn(_In):
    upload_id: str
    parts: list[PartIn] = Field(max_length=10_000)


class CompleteIn(_In):
    upload_id: str


class GcIn(_In):
    pending_older_than_seconds: float = Field(default=86_400.0, ge=0, le=MAX_SECONDS)


class VisibilityIn(_In):
    visibility: Literal["private", "public"]


class ReclaimIn(_In):
    grace_seconds: float = Field(default=86_400.0, ge=0, le=MAX_SECONDS)
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
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=True)
    _nonfinite: ClassVar[tuple[str, ...]] = ("history", "summary")

    history: list[dict[str, Any]] = Field(default_factory=list)
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    tags: list[str] | None = None
    notes: str | None = None
    exit_code: int | None = None
    state: str | None = None
