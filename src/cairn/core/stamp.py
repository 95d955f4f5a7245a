"""One id shared by a server's database and its blob store, so a mismatched pair is refused.

A database names blobs the store must hold, and storage reclamation deletes what the database
does not name: a server started on a database and *another* installation's store would fail
every download, and its GC could delete that installation's blobs. So the first server start
on a pair writes one random id to both (a row in ``installation``, a small object in the
store), and every start checks them:

======================  ======================  ==============================================
database                store                   at start
======================  ======================  ==============================================
no id                   no id                   a new pair (or one from before stamps): stamp
                                                both
id X                    id X                    the same installation
id X                    id Y                    refused: the two belong to other installations
id X                    no id, empty            a new store for this database (e.g. a restore
                                                to an empty bucket): stamped X
id X                    no id, not empty        refused: another installation's unstamped store
no id, no versions      id Y                    refused: an empty database would let GC delete
                                                installation Y's blobs
no id, versions         id Y                    refused: another installation's store
======================  ======================  ==============================================
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cairn.core.blobs.base import BlobStore
from cairn.core.db import models as m
from cairn.core.db.engine import Database, shown_url
from cairn.errors import StorageError


def _database_id(db: Database) -> str | None:
    with db.read() as s:
        return s.scalar(select(m.Installation.id).where(m.Installation.key == 1))


def _store_is_empty(store: BlobStore) -> bool:
    return next(iter(store.iter_digests()), None) is None and (
        next(iter(store.iter_packs()), None) is None
    )


def _mismatch(db: Database, store_uri: str, db_id: str | None, store_id: str | None) -> str:
    return (
        f"the database {shown_url(db.url)} and the store {store_uri} belong to different "
        f"installations (database: {db_id or 'no id'}, store: {store_id or 'no id, not empty'}); "
        "start the server with the store this database was created with, or restore the two "
        "together"
    )


def pair(db: Database, store: BlobStore, store_uri: str) -> str:
    """The installation id of ``db`` and ``store``, stamping a new pair (see the module table).

    Raises:
        StorageError: the database and the store belong to different installations.
    """
    db_id = _database_id(db)
    store_id = store.read_stamp()
    if db_id is not None and db_id == store_id:
        return db_id
    if db_id is not None and store_id is None and _store_is_empty(store):
        store.write_stamp(db_id)
        return db_id
    if db_id is None and store_id is None:
        # The database decides (replicas starting together race on its one row); the store
        # is stamped after, and a start that dies between the two finds an empty store above.
        try:
            with db.write() as s:
                s.add(m.Installation(key=1, id=str(uuid.uuid4())))
        except IntegrityError:
            pass  # another replica stamped it first: take its id
        db_id = _database_id(db)
        assert db_id is not None
        store.write_stamp(db_id)  # racing replicas write the same id
        return db_id
    raise StorageError(_mismatch(db, store_uri, db_id, store_id))
