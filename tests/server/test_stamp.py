"""A server's database and store share one installation id; a mismatched pair is refused."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from cairn.errors import StorageError
from cairn.server.app import open_state
from cairn.server.config import ServerConfig


def config(tmp: Path, db: str, store: str) -> ServerConfig:
    return ServerConfig(db_url=f"sqlite:///{tmp / db}.db", store_uri=(tmp / store).as_uri())


def start(cfg: ServerConfig) -> str:
    state = open_state(cfg)
    try:
        stamp = state.store.read_stamp()
        assert stamp is not None
        return stamp
    finally:
        state.db.dispose()


def put_a_blob(tmp: Path, store: str) -> None:
    from cairn.core.blobs import open_store

    data = b"someone else's data"
    open_store((tmp / store).as_uri()).put_stream(
        hashlib.md5(data).hexdigest(), io.BytesIO(data), len(data)
    )


def test_a_new_pair_is_stamped_once_and_restarts_freely(tmp_path: Path) -> None:
    cfg = config(tmp_path, "a", "a-blobs")
    first = start(cfg)
    assert start(cfg) == first  # a restart (or another replica) finds the same id


def test_a_database_with_another_installations_store_is_refused(tmp_path: Path) -> None:
    a, b = config(tmp_path, "a", "a-blobs"), config(tmp_path, "b", "b-blobs")
    id_a, id_b = start(a), start(b)
    with pytest.raises(StorageError) as refused:
        open_state(config(tmp_path, "a", "b-blobs"))
    message = str(refused.value)
    assert id_a in message and id_b in message and "b-blobs" in message


def test_an_empty_store_is_adopted_by_a_stamped_database(tmp_path: Path) -> None:
    db_id = start(config(tmp_path, "a", "a-blobs"))
    assert start(config(tmp_path, "a", "restored-empty")) == db_id


def test_a_stamped_database_refuses_an_unstamped_store_with_data(tmp_path: Path) -> None:
    start(config(tmp_path, "a", "a-blobs"))
    put_a_blob(tmp_path, "legacy")
    with pytest.raises(StorageError, match="different installations"):
        open_state(config(tmp_path, "a", "legacy"))


def test_a_fresh_database_refuses_a_stamped_store(tmp_path: Path) -> None:
    # An empty database on a used store would let storage reclamation delete its blobs.
    start(config(tmp_path, "a", "a-blobs"))
    with pytest.raises(StorageError, match="different installations"):
        open_state(config(tmp_path, "fresh", "a-blobs"))


def test_a_pair_from_before_stamps_is_stamped(tmp_path: Path) -> None:
    put_a_blob(tmp_path, "old-blobs")
    assert start(config(tmp_path, "old", "old-blobs"))
