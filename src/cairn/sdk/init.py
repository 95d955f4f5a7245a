"""``cairn.init()``: W&B 0.31's ``wandb.init`` — its keywords, modes, ``reinit`` and ``resume``.

* ``mode``: ``"online"`` (the configured store: a server, or the embedded one), ``"offline"``
  (the embedded store even when a server is configured) or ``"disabled"`` (nothing is
  recorded; every call still returns usable objects). Default: ``CAIRN_MODE``/``WANDB_MODE``.
* A second ``init()`` while a run is active follows ``reinit``: ``"default"``/
  ``"return_previous"``/``False`` return the active run (``resume="must"`` then raises);
  ``"finish_previous"``/``True`` finish the active runs and start a new one;
  ``"create_new"`` starts another run without making it the current one (``cairn.run`` and
  ``cairn.log`` keep the previous). W&B's notebook default (finish previous) is not copied.
* ``resume`` with an ``id``: ``"must"`` needs the run to exist, ``"never"`` needs it not to;
  ``"allow"``/``"auto"``/``True`` continue it if it exists (history goes on after its last
  step; its config and summary are kept).
* Keywords W&B takes that Cairn does not use, and unknown ones, warn once per keyword per
  process (a ``UserWarning``) instead of raising.
"""

from __future__ import annotations

import os
import secrets
import string
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cairn import naming
from cairn.config import Settings, check_mode
from cairn.errors import ConflictError, RunNotFoundError, ValidationError
from cairn.records import RunRecord, RunUpdate
from cairn.sdk import context
from cairn.sdk.run import (
    Run,
    _activate,
    _register_exit_hook,
    finish_all_active_runs,
    most_recent_active_run,
)
from cairn.sdk.run_values import Config

REINIT = ("default", "return_previous", "finish_previous", "create_new")
RESUME = ("allow", "must", "never", "auto")
# W&B settings (as a dict) that map onto Cairn's own.
_SETTINGS_KEYS = {
    "mode": "mode",
    "project": "project",
    "entity": "entity",
    "silent": "silent",
    "base_url": "base_url",
    "api_key": "api_key",
}
_SETTINGS_ARGS = {
    "run_name": "name",
    "run_id": "id",
    "run_tags": "tags",
    "run_notes": "notes",
    "run_group": "group",
    "run_job_type": "job_type",
    "reinit": "reinit",
    "resume": "resume",
    "root_dir": "dir",
}
_warned: set[str] = set()
_ID_ALPHABET = string.ascii_lowercase + string.digits


def _warn_once(key: str, message: str) -> None:
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, UserWarning, stacklevel=3)


def _config_dict(
    config: Any, include: Sequence[str] | None, exclude: Sequence[str] | None
) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, str):
        raise ValidationError("init(config=...) takes a dict (a YAML file path is not supported)")
    if isinstance(config, Config):
        items = config.as_dict()
    elif isinstance(config, Mapping):
        items = dict(config)
    elif hasattr(config, "__dict__"):  # argparse.Namespace and similar
        items = dict(vars(config))
    else:
        raise ValidationError(f"init(config=...) takes a dict, got {type(config).__name__}")
    if include:
        items = {k: v for k, v in items.items() if k in include}
    if exclude:
        items = {k: v for k, v in items.items() if k not in exclude}
    return Config(items).as_dict()  # values made JSON as W&B makes them


def _reinit(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, bool):
        warnings.warn(
            "Using a boolean value for 'reinit' is deprecated. "
            "Use 'return_previous' or 'finish_previous' instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        return "finish_previous" if value else "return_previous"
    if value not in REINIT:
        raise ValidationError(f"reinit={value!r}: use one of {', '.join(REINIT)}")
    return str(value)


def _resume(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return "allow"
    if value not in RESUME:
        raise ValidationError(f"resume={value!r}: use one of {', '.join(RESUME)}, or a bool")
    return str(value)


def init(
    entity: str | None = None,
    project: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Any = None,
    config_exclude_keys: list[str] | None = None,
    config_include_keys: list[str] | None = None,
    allow_val_change: bool | None = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run and make it the current one (see the module docstring for the rules).

    ``project`` defaults to ``CAIRN_PROJECT`` (or ``WANDB_PROJECT``) or ``uncategorized``;
    ``entity`` to ``CAIRN_ENTITY`` (or ``WANDB_ENTITY``) or the store's default (your user).

    Args:
        entity: The user or team that owns the project.
        project: The project the run and the artifacts it logs belong to.
        dir: Where the run keeps its local files.
        id: The run's id, to resume it (default: a new random id).
        name: A display name (default: the id).
        notes: Free text about the run.
        tags: Labels to filter runs by.
        config: Hyperparameters: a dict, an argparse namespace or anything with ``__dict__``.
        config_exclude_keys: Keys of ``config`` to leave out.
        config_include_keys: The only keys of ``config`` to keep.
        allow_val_change: Accepted for W&B compatibility (config values may always change).
        group: Groups runs of one experiment.
        job_type: What the run does (``"train"``, ``"preprocess"``); lineage shows it.
        mode: ``"online"``, ``"offline"`` (always the embedded store) or ``"disabled"``.
        reinit: What to do while another run is active: ``"return_previous"`` (the default),
            ``"finish_previous"`` or ``"create_new"``; ``True`` and ``False`` (deprecated)
            mean ``"finish_previous"`` and ``"return_previous"``.
        resume: With ``id``: ``"must"``, ``"never"``, ``"allow"``/``"auto"``/``True``.
        settings: A :class:`cairn.Settings` or a dict of W&B-style settings.
        **kwargs: Other ``wandb.init`` keywords, ignored with a warning.

    Returns:
        The run, also set as ``cairn.run``; use it as a context manager to finish it.

    Raises:
        ValidationError: a bad name, mode, ``reinit`` or ``resume`` value; ``resume="must"``
            while another run is active.
        RunNotFoundError: ``resume="must"`` and no run has that ``id``.
        ConflictError: ``resume="never"`` and a run has that ``id``.
    """
    for key in kwargs:
        _warn_once(key, f"cairn.init() ignores the keyword {key!r}")
    args: dict[str, Any] = {}
    if isinstance(settings, Settings):
        resolved = settings
    else:
        overrides: dict[str, Any] = {}
        for key, value in dict(settings or {}).items():
            if key in _SETTINGS_KEYS:
                overrides[_SETTINGS_KEYS[key]] = value
            elif key in _SETTINGS_ARGS:
                args[_SETTINGS_ARGS[key]] = value
            else:
                _warn_once(f"settings.{key}", f"cairn.init() ignores the setting {key!r}")
        resolved = context.settings(**overrides)
    # Explicit arguments win over the same thing given in ``settings``, as in W&B.
    name = name if name is not None else args.get("name")
    id = id if id is not None else args.get("id")
    tags = tags if tags is not None else args.get("tags")
    notes = notes if notes is not None else args.get("notes")
    group = group if group is not None else args.get("group")
    job_type = job_type if job_type is not None else args.get("job_type")
    dir = dir if dir is not None else args.get("dir")
    reinit_mode = _reinit(reinit if reinit is not None else args.get("reinit"))
    resume_mode = _resume(resume if resume is not None else args.get("resume"))
    run_mode = check_mode(mode if mode is not None else resolved.mode)

    previous = most_recent_active_run()
    if previous is not None:
        if reinit_mode == "finish_previous":
            finish_all_active_runs()
        elif reinit_mode != "create_new":
            if resume_mode == "must":
                raise ValidationError(
                    "Cannot resume a run while another run is active. Finish it with "
                    "run.finish(), or use reinit='create_new'."
                )
            return previous

    if tags is not None:
        if isinstance(tags, str):
            raise ValidationError("tags must be a list of strings, not one string")
        tags = tuple(tags)
    items = _config_dict(config, config_include_keys, config_exclude_keys)
    run_dir = os.fspath(dir) if dir is not None else None
    if run_mode == "disabled":
        run = _disabled(resolved, entity, project, id, name, job_type, group, items, tags, notes)
    else:
        if run_mode == "offline":
            resolved = replace(resolved, base_url=None, api_key=None, mode="offline")
        run = _start(
            resolved,
            entity=entity,
            project=project,
            run_id=id,
            name=name,
            job_type=job_type,
            group=group,
            config=items,
            tags=tags,
            notes=notes,
            resume=resume_mode,
            allow_val_change=allow_val_change,
            run_dir=run_dir,
        )
    _activate(run, make_current=reinit_mode != "create_new")
    _register_exit_hook()
    return run


def _disabled(
    s: Settings,
    entity: str | None,
    project: str | None,
    run_id: str | None,
    name: str | None,
    job_type: str | None,
    group: str | None,
    config: dict[str, Any],
    tags: tuple[str, ...] | None,
    notes: str | None,
) -> Run:
    rid = run_id or "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    record = RunRecord(
        id=rid,
        entity=entity or s.entity or "",
        project=project or s.project or naming.DEFAULT_PROJECT,
        name=name or rid,
        job_type=job_type,
        group=group,
        config=config,
        state="running",
        created_at=datetime.now(UTC),
        tags=tags or (),
        notes=notes,
    )
    return Run._disabled_run(record, replace(s, mode="disabled"))


def _start(
    s: Settings,
    *,
    entity: str | None,
    project: str | None,
    run_id: str | None,
    name: str | None,
    job_type: str | None,
    group: str | None,
    config: dict[str, Any],
    tags: tuple[str, ...] | None,
    notes: str | None,
    resume: str | None,
    allow_val_change: bool | None,
    run_dir: str | None,
) -> Run:
    backend = context.backend_for(s)
    entity = entity or s.entity or backend.default_entity()
    project = project or s.project or naming.DEFAULT_PROJECT
    naming.check_name(entity, "entity name")
    naming.check_name(project, "project name")
    if resume == "must" and run_id is None:
        raise ValidationError("resume='must' needs the id of the run to resume (id=...)")
    exists = False
    if run_id is not None:
        try:
            backend.get_run(entity, project, run_id)
            exists = True
        except RunNotFoundError:
            if resume == "must":
                raise RunNotFoundError(
                    f"resume='must': no run {entity}/{project}/{run_id} to resume"
                ) from None
        if exists and resume == "never":
            raise ConflictError(f"resume='never': run {entity}/{project}/{run_id} exists")
    # Config goes with the update below, not create_run: W&B configs often have more keys
    # than artifact metadata may.
    record = backend.create_run(
        entity, project, run_id=run_id, name=name, job_type=job_type, group=group, config=None
    )
    # A resumed run keeps its config; what this init() passes is added to it.
    merged = Config(record.config)
    if config:
        merged.update(config, allow_val_change=allow_val_change or not exists)
    reopen = exists and record.state != "running"
    change = RunUpdate(
        config=merged.as_dict() if merged.as_dict() != record.config else None,
        tags=tags,
        notes=notes,
        state="running" if reopen else None,
    )
    if change != RunUpdate():
        backend.update_run(entity, project, record.id, change)
        record = replace(
            record,
            config=merged.as_dict(),
            tags=tags if tags is not None else record.tags,
            notes=notes if notes is not None else record.notes,
            state="running" if reopen else record.state,
            exit_code=None if reopen else record.exit_code,
        )
    return Run(record, backend, s, active=True, dir=run_dir, resumed=exists)
