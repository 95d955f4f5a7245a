"""The client's content-addressed cache and checksum memo.

The cache folder (``CAIRN_CACHE_DIR``) holds::

    objects/md5/ab/cdef…   read-only blobs, named by hex MD5 (same layout as every store)
    tmp/                   process-unique temporary files, renamed into objects/ once verified
    lease.lock             shared by transfers using objects, exclusive to eviction (quota.py)
    staging/packs/         small files' mutable snapshots, appended many to a pack (cache.staging)
    staging/draft-*/       copies made for ``policy="mutable", skip_cache=True``, removed after log
    memo.db                (path, inode, size, mtime_ns) → digest, and digest → staged snapshot:
                           unchanged files are not re-read
"""

from cairn.cache.hashing import FileDigest, hash_files
from cairn.cache.memo import ChecksumMemo
from cairn.cache.objects import ObjectCache

__all__ = ["ChecksumMemo", "FileDigest", "ObjectCache", "hash_files"]
