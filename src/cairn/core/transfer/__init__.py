"""Transfers, owned by the core: which blobs a caller lacks, how each travels, ingest (verified
once on arrival), reads, and who may read a blob. Every face (REST, GraphQL, the embedded
backend) calls these modules; none re-implements them."""
