"""Configuration: one explicit, frozen object, resolved once and passed down.

Precedence: explicit arguments > ``CAIRN_*`` environment variables > W&B's ``WANDB_*``
variables of the same meaning (so a W&B script's environment works unchanged) > the config file
(``CAIRN_CONFIG`` or ``<user config dir>/cairn/config.toml``, written by ``cairn login``) >
defaults. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cairn.errors import ValidationError
from cairn.sizes import parse_size

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValidationError(f"{name}={value!r} is not a boolean (use true or false)")


def _int(name: str, value: str) -> int:
    try:
        out = int(value)
    except ValueError:
        raise ValidationError(f"{name}={value!r} is not a whole number") from None
    if out < 1:
        raise ValidationError(f"{name} must be at least 1")
    return out


MODES = ("online", "offline", "disabled")
# W&B's older spellings of its modes.
_MODE_ALIASES = {"run": "online", "dryrun": "offline"}

# The W&B variable read when Cairn's own is not set.
WANDB_FALLBACKS = {
    "CAIRN_PROJECT": "WANDB_PROJECT",
    "CAIRN_ENTITY": "WANDB_ENTITY",
    "CAIRN_MODE": "WANDB_MODE",
    "CAIRN_SILENT": "WANDB_SILENT",
    "CAIRN_ARTIFACT_DIR": "WANDB_ARTIFACT_DIR",
    "CAIRN_CACHE_DIR": "WANDB_CACHE_DIR",
}


def check_mode(value: str) -> str:
    """``online``, ``offline`` or ``disabled`` (W&B's ``run``/``dryrun`` accepted).

    Raises:
        ValidationError: any other value.
    """
    mode = _MODE_ALIASES.get(value.strip().lower(), value.strip().lower())
    if mode not in MODES:
        raise ValidationError(f"mode {value!r}: use one of {', '.join(MODES)}")
    return mode


def _count(name: str, value: str) -> int:
    try:
        out = int(value)
    except ValueError:
        raise ValidationError(f"{name}={value!r} is not a whole number") from None
    if out < 0:
        raise ValidationError(f"{name} must be 0 or more")
    return out


def _seconds(name: str, value: str) -> float:
    try:
        out = float(value)
    except ValueError:
        raise ValidationError(f"{name}={value!r} is not a number of seconds") from None
    if not 0 <= out < 86_400:
        raise ValidationError(f"{name} must be between 0 and 86400 seconds")
    return out


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("CAIRN_CONFIG"):
        return Path(env["CAIRN_CONFIG"])
    import platformdirs

    return Path(platformdirs.user_config_dir("cairn")) / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"config file {path} is not valid TOML: {exc}") from None
    return data


def write_config(path: Path, values: Mapping[str, Any], *, remove: tuple[str, ...] = ()) -> None:
    """Set (and ``remove``) top-level keys of the TOML config file, keeping every other key,
    table and comment as it was. The file holds an API key, so it is private to its owner; it
    is replaced whole (a process-unique temporary name, then a rename), never half-written.

    Raises:
        ValidationError: the file exists and is not valid TOML.
    """
    import tomlkit

    try:
        doc = tomlkit.parse(path.read_text())
    except FileNotFoundError:
        doc = tomlkit.document()
    except tomlkit.exceptions.ParseError as exc:
        raise ValidationError(f"config file {path} is not valid TOML: {exc}") from None
    for key in remove:
        doc.pop(key, None)
    for key, value in values.items():
        doc[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(tomlkit.dumps(doc))
    os.replace(tmp, path)


@dataclass(frozen=True)
class Settings:
    """Everything the SDK and the embedded store need to know about their surroundings."""

    data_dir: Path
    cache_dir: Path
    base_url: str | None = None
    api_key: str | None = None
    entity: str | None = None
    project: str | None = None
    silent: bool = False
    artifact_dir: Path = Path("artifacts")  # where download() puts artifacts by default
    # "copy" (a copy-on-write clone where the filesystem has one: writable, independent files)
    # or "hardlink" (read-only links to the cache objects: the opt-in fast mode).
    link_mode: str = "copy"
    cache_max: int | None = None  # bytes the object cache may hold (LRU eviction); None: no cap
    hash_workers: int = field(default_factory=lambda: max(4, (os.cpu_count() or 1) * 2))
    transfer_workers: int = 16
    # "offline" logs to the embedded store even with a server configured; "disabled" makes
    # runs no-ops (cairn.sdk.run).
    mode: str = "online"
    # Retries of a failed HTTP step (backend/retrying.py): how many after the first try
    # (CAIRN_HTTP_RETRIES, 0 turns them off) and the longest a step may keep retrying.
    http_retries: int = 8
    http_retry_seconds: float = 120.0

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from arguments, then ``CAIRN_*`` variables, then the config file."""
        env = dict(os.environ if env is None else env)
        file_values = read_config_file(default_config_path(env))
        import platformdirs

        def pick(key: str, env_name: str, default: Any = None) -> Any:
            if overrides.get(key) is not None:
                return overrides[key]
            if env.get(env_name):
                return env[env_name]
            wandb_name = WANDB_FALLBACKS.get(env_name)
            if wandb_name and env.get(wandb_name):
                return env[wandb_name]
            if file_values.get(key) is not None:
                return file_values[key]
            return default

        data_dir = Path(pick("data_dir", "CAIRN_DIR", platformdirs.user_data_dir("cairn")))
        cache_dir = Path(pick("cache_dir", "CAIRN_CACHE_DIR", platformdirs.user_cache_dir("cairn")))
        silent = pick("silent", "CAIRN_SILENT", False)
        if isinstance(silent, str):
            silent = _bool("CAIRN_SILENT", silent)
        mode = check_mode(str(pick("mode", "CAIRN_MODE", "online")))
        link_mode = pick("link_mode", "CAIRN_LINK_MODE", "copy")
        if link_mode not in ("hardlink", "copy"):
            raise ValidationError(f"CAIRN_LINK_MODE={link_mode!r}: use 'copy' or 'hardlink'")
        base_url = pick("base_url", "CAIRN_BASE_URL")
        if overrides.get("base_url") is None and env.get("CAIRN_BASE_URL") == "":
            # Set but empty: the embedded store, whatever `cairn login` saved.
            base_url = None
        out = cls(
            data_dir=data_dir.expanduser(),
            cache_dir=cache_dir.expanduser(),
            base_url=base_url.rstrip("/") if base_url else None,
            api_key=pick("api_key", "CAIRN_API_KEY"),
            entity=pick("entity", "CAIRN_ENTITY"),
            project=pick("project", "CAIRN_PROJECT"),
            silent=bool(silent),
            artifact_dir=Path(pick("artifact_dir", "CAIRN_ARTIFACT_DIR", "artifacts")),
            link_mode=link_mode,
            mode=mode,
        )
        cache_max = pick("cache_max", "CAIRN_CACHE_MAX")
        if cache_max is not None:
            out = replace(out, cache_max=parse_size(cache_max, "CAIRN_CACHE_MAX"))
        workers = pick("transfer_workers", "CAIRN_TRANSFER_WORKERS")
        if workers is not None:
            out = replace(out, transfer_workers=_int("CAIRN_TRANSFER_WORKERS", str(workers)))
        retries = pick("http_retries", "CAIRN_HTTP_RETRIES")
        if retries is not None:
            out = replace(out, http_retries=_count("CAIRN_HTTP_RETRIES", str(retries)))
        seconds = pick("http_retry_seconds", "CAIRN_HTTP_RETRY_SECONDS")
        if seconds is not None:
            out = replace(
                out, http_retry_seconds=_seconds("CAIRN_HTTP_RETRY_SECONDS", str(seconds))
            )
        return out
