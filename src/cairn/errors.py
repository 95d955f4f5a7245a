"""Every exception Cairn raises.

Each leaf also inherits the builtin it resembles, so a caller who knows nothing of Cairn can
still write ``except KeyError`` or ``except ValueError``::

    CairnError
    ├── ArtifactStatusError (AttributeError)
    │   ├── ArtifactNotLoggedError        operation needs a logged artifact
    │   └── ArtifactFinalizedError        draft is frozen (logged or finalized)
    ├── ValidationError (ValueError)      bad name, type, alias, tag, metadata, path, URI
    │   ├── InvalidPathError              entry path is absolute, has '..', NUL, ...
    │   ├── PayloadTooLargeError          a request body over the server's limit
    │   ├── LimitExceededError            a commit over a bound (entries, path length, manifest)
    │   ├── LocalPathError (FileNotFoundError)  add_file/add_dir given no such file/folder
    │   ├── ColumnTypeError (TypeError)   a Table cell does not fit its column's type
    │   └── UnsupportedObjectError (TypeError)  add() of an object that is not media
    ├── ConflictError (ValueError)
    │   ├── TypeConflictError             a collection keeps one type
    │   ├── EntryConflictError            same path added twice with different content
    │   │   └── FileFolderConflictError   a path that is both a file and a folder
    │   ├── AliasInUseError               delete() while custom aliases point at a version
    │   └── VersionLinkedError            delete() of a version linked into portfolios
    ├── NotFoundError (LookupError)
    │   ├── ArtifactNotFoundError (ValueError)
    │   ├── CollectionNotFoundError (ValueError)
    │   ├── RunNotFoundError (ValueError)
    │   ├── ProjectNotFoundError (ValueError)
    │   ├── EntryNotFoundError (KeyError)
    │   ├── PathNotInArtifactError (FileNotFoundError)  remove() of a path not in the draft
    │   ├── ReferenceNotFoundError (ValueError)  a file:// reference names nothing
    │   └── BlobNotFoundError             a digest the store does not hold
    ├── IntegrityError (ValueError)
    │   ├── DigestMismatchError           bytes do not hash to the digest they claim
    │   ├── SizeMismatchError             an entry claims a size its stored blob does not have
    │   └── VerificationError             verify() found files that differ
    ├── AuthenticationError (PermissionError)   no or bad API key
    ├── PermissionDeniedError (PermissionError) authenticated but not allowed
    ├── StorageError (OSError)            a blob store or transport failed
    ├── ArtifactLogError                  background log_artifact calls failed (run.finish)
    ├── ServerError                       the server failed in a way the client cannot map
    └── NotImplementedFeatureError (NotImplementedError)

Every class carries a stable ``code``: the server renders it in its error body and the HTTP
backend maps it back to the same class with :func:`error_for_code`, so code written against
the embedded store sees the same exceptions through a server.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CairnError(Exception):
    """Base of every error Cairn raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str = "", *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return self.message


class ArtifactStatusError(CairnError, AttributeError):
    code = "artifact_status"
    http_status = 409


class ArtifactNotLoggedError(ArtifactStatusError):
    code = "artifact_not_logged"

    def __init__(self, operation: str = "", message: str | None = None) -> None:
        super().__init__(
            message
            or f"'{operation}' needs a logged artifact: log it with run.log_artifact() "
            "or fetch one with Api().artifact() first"
        )


class ArtifactFinalizedError(ArtifactStatusError):
    code = "artifact_finalized"

    def __init__(self, operation: str = "", message: str | None = None) -> None:
        super().__init__(
            message
            or f"cannot '{operation}': this artifact is finalized (logged or finalize() was "
            "called); make a new version with new_draft() instead"
        )


class ValidationError(CairnError, ValueError):
    code = "invalid"
    http_status = 422


class InvalidPathError(ValidationError):
    code = "invalid_path"


class PayloadTooLargeError(ValidationError):
    code = "too_large"
    http_status = 413


class LimitExceededError(ValidationError):
    """A commit over one of the server's bounds; ``details["limit"]`` names it, with its
    ``max`` and the ``actual`` value."""

    code = "limit_exceeded"


class LocalPathError(ValidationError, FileNotFoundError):
    code = "local_path"

    __str__ = CairnError.__str__


class ColumnTypeError(ValidationError, TypeError):
    code = "column_type"


class UnsupportedObjectError(ValidationError, TypeError):
    code = "unsupported_object"


class ConflictError(CairnError, ValueError):
    code = "conflict"
    http_status = 409


class TypeConflictError(ConflictError):
    code = "type_conflict"


class EntryConflictError(ConflictError):
    code = "entry_conflict"


class FileFolderConflictError(EntryConflictError):
    """One path is a file and also a folder of other entries (``a`` and ``a/b``)."""

    code = "file_folder_conflict"


class AliasInUseError(ConflictError):
    code = "alias_in_use"


class VersionLinkedError(ConflictError):
    """The version is a member of portfolios (``details["links"]`` names them)."""

    code = "version_linked"


class NotFoundError(CairnError, LookupError):
    code = "not_found"
    http_status = 404


class ArtifactNotFoundError(NotFoundError, ValueError):
    code = "artifact_not_found"


class CollectionNotFoundError(NotFoundError, ValueError):
    code = "collection_not_found"


class RunNotFoundError(NotFoundError, ValueError):
    code = "run_not_found"


class ProjectNotFoundError(NotFoundError, ValueError):
    code = "project_not_found"


class EntryNotFoundError(NotFoundError, KeyError):
    code = "entry_not_found"

    # KeyError.__str__ quotes its argument; keep the plain message.
    __str__ = CairnError.__str__


class PathNotInArtifactError(NotFoundError, FileNotFoundError):
    code = "path_not_in_artifact"

    __str__ = CairnError.__str__


class ReferenceNotFoundError(NotFoundError, ValueError):
    code = "reference_not_found"


class BlobNotFoundError(NotFoundError):
    code = "blob_not_found"


class IntegrityError(CairnError, ValueError):
    code = "integrity"
    http_status = 422


class DigestMismatchError(IntegrityError):
    code = "digest_mismatch"


class SizeMismatchError(IntegrityError):
    """An entry's claimed size differs from its stored blob's; ``details["path"]`` names it."""

    code = "size_mismatch"


class VerificationError(IntegrityError):
    code = "verification_failed"


class AuthenticationError(CairnError, PermissionError):
    code = "unauthenticated"
    http_status = 401


class PermissionDeniedError(CairnError, PermissionError):
    code = "forbidden"
    http_status = 403


class StorageError(CairnError, OSError):
    code = "storage"
    http_status = 502


class ArtifactLogError(CairnError):
    code = "artifact_log_failed"


class ServerError(CairnError):
    code = "server_error"
    http_status = 500


class NotImplementedFeatureError(CairnError, NotImplementedError):
    code = "not_implemented"
    http_status = 501


def _all_subclasses(cls: type[CairnError]) -> list[type[CairnError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


def error_for_code(code: str) -> type[CairnError]:
    """Map a wire ``code`` back to its exception class (``CairnError`` when unknown)."""
    for cls in _all_subclasses(CairnError):
        if cls.code == code:
            return cls
    return CairnError


def make_error(code: str, message: str, details: dict[str, Any] | None = None) -> CairnError:
    """Rebuild the exception a server reported, bypassing leaf-specific constructors."""
    cls = error_for_code(code)
    err = cls.__new__(cls)
    CairnError.__init__(err, message, details=details)
    return err
