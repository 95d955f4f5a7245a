"""The manifest format: entry paths, digests and the ``wandb_manifest.json`` document.

Pure code (no I/O beyond hashing a file): the SDK builds manifests with it and the core checks
them with it, so both sides compute identical digests.
"""

from cairn.manifest.digest import (
    EMPTY_ARTIFACT_DIGEST,
    EMPTY_FILE_DIGEST,
    b64_to_hex,
    check_b64_digest,
    hash_file,
    hex_to_b64,
    md5_b64,
)
from cairn.manifest.manifest import Manifest, ManifestEntry
from cairn.manifest.paths import normalize_entry_path

__all__ = [
    "EMPTY_ARTIFACT_DIGEST",
    "EMPTY_FILE_DIGEST",
    "Manifest",
    "ManifestEntry",
    "b64_to_hex",
    "check_b64_digest",
    "hash_file",
    "hex_to_b64",
    "md5_b64",
    "normalize_entry_path",
]
