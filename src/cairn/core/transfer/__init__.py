"""Transfers: which blobs a caller lacks, how each travels, ingest, reads, who may read.

The core owns every transfer, so each face (REST, the W&B GraphQL face, the embedded backend)
makes one call here instead of planning uploads itself.
"""
