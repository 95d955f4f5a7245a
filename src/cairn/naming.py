"""Rules for the names users give things, checked the same way by the SDK and the core.

Every check raises :class:`~cairn.errors.ValidationError` (a ``ValueError``) whose message says
what is allowed, so a bad value is refused before anything is written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cairn.errors import ValidationError
from cairn.validation import INT32_MAX, check_json, check_text

MAX_NAME_LEN = 128
MAX_METADATA_KEYS = 100
MAX_METADATA_BYTES = 1_000_000
MAX_DESCRIPTION_LEN = 65_536

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_TAG_RE = re.compile(r"^[-\w]+( +[-\w]+)*$")
_VERSION_RE = re.compile(r"^v[0-9]+$")  # ASCII digits: "v٣" is not v3
DEFAULT_PROJECT = "uncategorized"


def check_name(value: object, what: str = "artifact name") -> str:
    """Collection, entity and project names: letters, digits, ``_ - .``; at most 128 chars."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LEN:
        raise ValidationError(f"{what} is {len(value)} characters long; at most {MAX_NAME_LEN}")
    if not _NAME_RE.match(value) or value in (".", ".."):
        raise ValidationError(
            f"{what} {value!r} is not allowed: use only letters, digits, '_', '-' and '.'"
        )
    return value


def check_type(value: object) -> str:
    """Artifact types: same alphabet as names; ``wandb-*`` and ``job`` are reserved."""
    check_name(value, "artifact type")
    assert isinstance(value, str)
    if value.startswith("wandb-") or value == "job" or value.startswith("job-"):
        raise ValidationError(f"artifact type {value!r} is reserved; choose another type")
    return value


def is_version_alias(value: str) -> bool:
    """``v0``, ``v12``: a version index, never a stored alias."""
    return bool(_VERSION_RE.match(value))


def version_index(alias: str) -> int:
    """The ``N`` of a ``vN`` alias.

    Raises:
        ValidationError: ``N`` is beyond any index a version can have (a 32-bit column).
    """
    if not is_version_alias(alias):
        raise ValidationError(f"{alias!r} is not a version alias like 'v3'")
    index = int(alias[1:])
    if index > INT32_MAX:
        raise ValidationError(
            f"version alias {alias!r} is out of range: indexes go up to {INT32_MAX}",
            details={"max": INT32_MAX},
        )
    return index


def check_alias(value: object, *, settable: bool = True) -> str:
    """Aliases: no ``/`` or ``:``, at most 128 characters.

    With ``settable`` (the default), ``latest`` and ``vN`` are refused: the system owns them.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(f"alias must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LEN:
        raise ValidationError(f"alias {value!r} is longer than {MAX_NAME_LEN} characters")
    if "/" in value or ":" in value or any(c.isspace() or not c.isprintable() for c in value):
        raise ValidationError(
            f"alias {value!r} is not allowed: no '/', ':', whitespace or control characters"
        )
    if settable and (value == "latest" or is_version_alias(value)):
        raise ValidationError(
            f"alias {value!r} is managed by Cairn ('latest' and 'vN' follow the versions) "
            "and cannot be set by hand"
        )
    return value


def clean_aliases(values: Iterable[str] | None) -> list[str]:
    """Validate custom aliases, dropping ``latest`` (always implied) and duplicates.

    A single string is one alias, as in W&B (never a sequence of one-letter aliases).
    """
    out: list[str] = []
    if values is None:
        return out
    if isinstance(values, str):
        values = [values]
    for v in values:
        if v == "latest":
            continue
        check_alias(v)
        if v not in out:
            out.append(v)
    return out


def check_tag(value: object) -> str:
    if not isinstance(value, str) or not _TAG_RE.match(value) or len(value) > MAX_NAME_LEN:
        raise ValidationError(
            f"tag {value!r} is not allowed: words of letters, digits, '_' or '-', "
            "separated by single spaces, at most 128 characters"
        )
    return value


def clean_tags(values: Iterable[str] | None) -> list[str]:
    """Validate tags; duplicates dropped, order kept. A single string is one tag."""
    out: list[str] = []
    if values is None:
        return out
    if isinstance(values, str):
        values = [values]
    for v in values:
        check_tag(v)
        if v not in out:
            out.append(v)
    return out


def _replace_nan(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValidationError("metadata cannot hold Infinity; use a string or a large number")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError(f"metadata keys must be strings, got {k!r}")
            out[k] = _replace_nan(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_replace_nan(v) for v in value]
    return value


def clean_metadata(value: object) -> dict[str, Any]:
    """A JSON-serialisable dict of at most 100 top-level keys; NaN becomes null.

    A string is parsed as JSON first (W&B accepts metadata given that way; ``""`` is empty).
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"metadata given as a string must be JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise ValidationError(f"metadata must be a dict, got {type(value).__name__}")
    if len(value) > MAX_METADATA_KEYS:
        raise ValidationError(
            f"metadata has {len(value)} keys; at most {MAX_METADATA_KEYS} are allowed"
        )
    cleaned = check_json(_replace_nan(value), "metadata")
    try:
        encoded = json.dumps(cleaned, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValidationError(f"metadata is {len(encoded)} bytes as JSON; at most 1 MB")
    result: dict[str, Any] = json.loads(encoded)
    return result


def check_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"description must be a string, got {type(value).__name__}")
    if len(value) > MAX_DESCRIPTION_LEN:
        raise ValidationError(f"description is longer than {MAX_DESCRIPTION_LEN} characters")
    return check_text(value, "description", multiline=True)


@dataclass(frozen=True)
class ArtifactPath:
    """A parsed ``[[entity/]project/]name[:alias]`` string."""

    entity: str | None
    project: str | None
    name: str
    alias: str

    @classmethod
    def parse(cls, path: str) -> ArtifactPath:
        if not isinstance(path, str) or not path:
            raise ValidationError(f"artifact path must be a non-empty string, got {path!r}")
        head, sep, alias = path.partition(":")
        if sep and not alias:
            raise ValidationError(f"artifact path {path!r} has an empty alias after ':'")
        alias = alias or "latest"
        check_alias(alias, settable=False)
        parts = head.split("/")
        if len(parts) > 3:
            raise ValidationError(
                f"artifact path {path!r} has too many parts: use "
                "'name[:alias]', 'project/name[:alias]' or 'entity/project/name[:alias]'"
            )
        for p in parts:
            check_name(p, "artifact path part")
        entity = parts[-3] if len(parts) == 3 else None
        project = parts[-2] if len(parts) >= 2 else None
        return cls(entity=entity, project=project, name=parts[-1], alias=alias)
