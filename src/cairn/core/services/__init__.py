"""The core service by noun; :class:`cairn.core.service.Service` assembles them.

scope.py          row lookups and permission checks every part shares
runs.py           runs and their lineage edges
versions.py       the commit protocol
catalog_reads.py  reading versions, manifests, files, collections
curation.py       changing what is committed (aliases, tags, links, TTL, deletion)
maintenance.py    garbage collection
"""
