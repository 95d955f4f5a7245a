"""The media types of bodies that are not JSON, as OpenAPI declares them.

Blob bytes travel as ``application/octet-stream``; many small blobs as a pack stream
(``application/x-cairn-pack``, :mod:`cairn.manifest.packstream`). The response classes only
name the media type for the OpenAPI document: routes still return streaming responses.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cairn.manifest.packstream import MEDIA_TYPE as PACK

OCTETS = "application/octet-stream"

__all__ = ["OCTETS", "PACK", "OctetResponse", "PackResponse", "binary_body"]


class OctetResponse(Response):
    media_type = OCTETS


class PackResponse(Response):
    media_type = PACK


def binary_body(media_type: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its body as a raw stream of this type."""
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
