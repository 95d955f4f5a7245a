"""The domain service shared by the embedded store and the team server.

Versioning rules, the commit protocol, aliases, tags, runs and lineage live here, over
SQLAlchemy (``core.db``) and a blob store (``core.blobs``). Nothing here knows about HTTP or
the SDK. Import :class:`cairn.core.service.Service` explicitly; this package imports nothing
heavy at import time.
"""
