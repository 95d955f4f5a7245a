"""How fast this machine's SeaweedFS takes and gives large objects, without Cairn: the limit
that W2 on ``cairn-server-pg-s3`` is measured against.

Starts SeaweedFS as the tests do (:mod:`tests.seaweed`: loopback only, every port given,
telemetry off), PUTs ``--count`` objects of ``--mib`` MiB with boto3 (each with its
``Content-MD5``, as Cairn's presigned single PUTs carry), reads them back, and prints both times.

    python -m benchmarks.s3_limit                 # 8 x 128 MiB: W2's shape
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import time

from tests.seaweed import seaweed_s3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--mib", type=int, default=128)
    args = parser.parse_args(argv)
    data = os.urandom(args.mib << 20)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    total = args.count * args.mib
    with seaweed_s3() as s3:
        client, bucket = s3.client(), s3.new_bucket()
        client.put_object(Bucket=bucket, Key="warm-up", Body=data[: 1 << 20])
        start = time.perf_counter()
        for i in range(args.count):
            client.put_object(Bucket=bucket, Key=f"k{i}", Body=data, ContentMD5=md5)
        put = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(args.count):
            client.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read()
        get = time.perf_counter() - start
    print(f"put_object {args.count} x {args.mib} MiB: {put:.2f} s ({total / put:.0f} MiB/s)")
    print(f"get_object {args.count} x {args.mib} MiB: {get:.2f} s ({total / get:.0f} MiB/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
