"""W&B's custom scalars: ``JSONString`` (JSON text in a string), ``JSON``, ``DateTime``,
``Int64`` (a 64-bit integer, sent as a number or a string)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ariadne import ScalarType

json_string = ScalarType("JSONString")
json_value = ScalarType("JSON")
date_time = ScalarType("DateTime")
int64 = ScalarType("Int64")


@json_string.serializer
def serialize_json_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@json_string.value_parser
def parse_json_string(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@date_time.serializer
def serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        # W&B's form: UTC, no offset, seconds (the client parses it with fromisoformat).
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return str(value)


@int64.serializer
def serialize_int64(value: Any) -> int:
    return int(value)


@int64.value_parser
def parse_int64(value: Any) -> int:
    return int(value)


BINDABLES = [json_string, json_value, date_time, int64]
