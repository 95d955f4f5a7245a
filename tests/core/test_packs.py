"""Pack streams in, blobs out: verification, all-or-nothing, dedup, coalesced reads."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from cairn.core.db import models as m
from cairn.core.packs import BlobLocation, PackPolicy, plan_ranges
from cairn.core.service import Service
from cairn.errors import BlobNotFoundError, DigestMismatchError, ValidationError
from cairn.manifest.packstream import encode_header
from tests.core.conftest import Core
from tests.core.helpers import data, hexmd5, log, pack_stream, read_version, send_pack


def _blob_rows(core: Core) -> int:
    with core.db.read() as s:
        return len(s.query(m.Blob).all())


def test_a_pack_stream_stores_every_blob(core: Core) -> None:
    blobs = [data(100 + i, i) for i in range(50)] + [b""]
    out = send_pack(core.service, blobs)
    assert out["stored"] == 51
    assert core.service.missing_blobs([hexmd5(b) for b in blobs]) == []
    for b in blobs:
        with core.service.open_blob(hexmd5(b)) as f:
            assert f.read() == b
    where = core.service.locate_blobs([hexmd5(b) for b in blobs])
    packed = {loc.pack_id for loc in where.values()}
    if core.kind == "files":
        assert packed == {None}
        assert out["pack"] is None
        assert list(core.store.iter_packs()) == []
    else:
        # One stored object for all of them, found again by the id the upload answered.
        assert packed == {out["pack"]}
        assert [p for p, _ in core.store.iter_packs()] == [out["pack"]]
        assert list(core.store.iter_digests()) == []


def test_the_bytes_come_back_in_order_and_coalesced(core: Core) -> None:
    blobs = [data(1000, i) for i in range(40)]
    send_pack(core.service, blobs)
    order = [hexmd5(b) for b in reversed(blobs[:10])] + [hexmd5(b) for b in blobs[10:]]
    pieces = list(core.service.iter_blob_bytes(order))
    assert b"".join(pieces) == b"".join(list(reversed(blobs[:10])) + blobs[10:])
    if core.kind != "files":
        # 30 neighbours in pack order: one read (32 KiB ranges here); reversed ones: one each.
        assert len(pieces) == 10 + 1


def test_one_bad_blob_rejects_the_whole_pack(core: Core) -> None:
    good = [data(500, i) for i in range(10)]
    header = encode_header([(hexmd5(b), len(b)) for b in good])
    body = bytearray(header + b"".join(good))
    body[len(header) + 5 * 500 + 7] ^= 0xFF  # one flipped bit in the sixth blob
    before = _blob_rows(core)
    with pytest.raises(DigestMismatchError) as err:
        core.service.store_pack_stream(io.BytesIO(bytes(body)))
    assert err.value.details["mismatched"] == [hexmd5(good[5])]
    assert _blob_rows(core) == before
    assert core.service.missing_blobs([hexmd5(b) for b in good]) == [hexmd5(b) for b in good]
    assert list(core.store.iter_packs()) == []
    assert list(core.store.iter_digests()) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not a pack at all",
        b"CAIRN-PACK 1\n{not json}\n",
        b'CAIRN-PACK 1\n[["../../etc/passwd", 3]]\nabc',
        b'CAIRN-PACK 1\n[["' + hexmd5(b"abc").encode() + b'", -3]]\nabc',
        b'CAIRN-PACK 1\n[["' + hexmd5(b"abc").encode() + b'", 3.0]]\nabc',
        pack_stream([b"abc", b"defg"])[:-2],  # ends inside the last blob
        pack_stream([b"abc"]) + b"trailing",  # goes on after it
        encode_header([(hexmd5(b"abc"), 3)] * 2) + b"abcabc",  # a digest twice
    ],
    ids=["magic", "json", "digest", "negative", "float", "truncated", "trailing", "twice"],
)
def test_malformed_streams_are_refused_and_store_nothing(core: Core, body: bytes) -> None:
    with pytest.raises(ValidationError):
        core.service.store_pack_stream(io.BytesIO(body))
    assert _blob_rows(core) == 0
    assert list(core.store.iter_packs()) == []


def test_limits_are_enforced_from_the_header(core: Core) -> None:
    many = [data(1, i) for i in range(300)]
    policy = PackPolicy(
        enabled=core.service.packs.enabled, threshold=16, target=16, max_bytes=1000, max_blobs=100
    )
    limited = Service(core.db, core.store, packs=policy)
    with pytest.raises(ValidationError, match="at most 100"):
        limited.store_pack_stream(io.BytesIO(pack_stream(many)))
    with pytest.raises(ValidationError, match="at most 1000"):
        limited.store_pack_stream(io.BytesIO(pack_stream([data(600, 1), data(600, 2)])))
    assert _blob_rows(core) == 0


def test_blobs_already_stored_stay_where_they_are(core: Core) -> None:
    first = [data(300, i) for i in range(5)]
    a = send_pack(core.service, first)
    before = core.service.locate_blobs([hexmd5(b) for b in first])
    b = send_pack(core.service, [*first[2:], data(300, 99)])
    after = core.service.locate_blobs([hexmd5(x) for x in first])
    assert after == before  # not moved to the second pack
    if core.kind != "files":
        assert a["new"] == 5 and b["new"] == 1
        # A pack that brings nothing new is verified but not stored at all.
        with core.db.read() as s:
            packs_before = s.scalars(select(m.Pack.id)).all()
        c = send_pack(core.service, first)
        assert c["new"] == 0 and c["pack"] is None
        with core.db.read() as s:
            assert s.scalars(select(m.Pack.id)).all() == packs_before
            assert s.get_one(m.Pack, a["pack"]).retired_at is None


def test_versions_of_packed_blobs_read_back(core: Core, entity: str) -> None:
    files = {f"d/{i:03}.bin": data(200 + i, i) for i in range(120)}
    files["big.bin"] = data(20_000, 7)  # over the threshold: an object of its own
    v = log(core.service, entity, "ds", files)
    assert v.file_count == 121
    assert read_version(core.service, v.id) == files
    loc = core.service.locate_blobs([hexmd5(files["big.bin"])])[hexmd5(files["big.bin"])]
    assert loc.pack_id is None


def test_reading_an_absent_blob_names_it(core: Core) -> None:
    absent = hexmd5(b"never stored")
    with pytest.raises(BlobNotFoundError):
        core.service.open_blob(absent)
    with pytest.raises(BlobNotFoundError, match=absent):
        list(core.service.iter_blob_bytes([absent]))


def test_plan_ranges_coalesces_only_exact_neighbours() -> None:
    locs = [
        BlobLocation("a" * 32, 10, "p1", 0),
        BlobLocation("b" * 32, 10, "p1", 10),
        BlobLocation("c" * 32, 10, "p1", 30),  # a gap: another upload's bytes may lie there
        BlobLocation("d" * 32, 10, "p2", 0),
        BlobLocation("e" * 32, 50, None),
        BlobLocation("f" * 32, 10, "p1", 20),  # fills the gap: now all four are neighbours
    ]
    singles, ranges = plan_ranges(locs, max_bytes=25)
    assert [s.digest for s in singles] == ["e" * 32]
    got = sorted((r.pack_id, r.offset, r.length, [d[0] for d, _ in r.blobs]) for r in ranges)
    # p1 0..40 split by the 25-byte cap into 0..20 and 20..40.
    assert got == [("p1", 0, 20, ["a", "b"]), ("p1", 20, 20, ["f", "c"]), ("p2", 0, 10, ["d"])]
    _, gapped = plan_ranges(locs[:3], max_bytes=1000)
    assert sorted((r.offset, r.length) for r in gapped) == [(0, 20), (30, 10)]
