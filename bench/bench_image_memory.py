"""Image validation memory: what parallel uploads of huge-in-pixels, small-on-disk images cost a served gateway.

Starts the real app (`python -m gateway serve`, one worker) on a loopback port in a child process, uploads one
small PNG (the floor: the server's peak RSS once warm), then, for each kind of image, `--parallel` uploads at once
and the server's peak RSS (VmHWM) after them, beside the floor as a ratio:

- a 10000 x 10000 PNG (100 MP, ~0.3 MB on disk): past the default pixel limit, refused from its header;
- an 8000 x 8000 PNG (64 MP, within the limit): checked as a stream, no pixel buffer;
- an 8000 x 8000 JPEG (64 MP): decoded at 1/8 scale; progressive, it still buffers its coefficients
  (~3 bytes a pixel), so at most `GATEWAY_IMAGE_DECODE_CONCURRENCY` of those at once;
- a 4000 x 4000 GIF (16 MP): decoded in full, at most `GATEWAY_IMAGE_DECODE_CONCURRENCY` at once.

    .venv/bin/python bench/bench_image_memory.py [--parallel 4]

Before issue 11 the first kind decoded in full: four parallel uploads took a server from 519 MB to 1,540 MB.
"""

import argparse
import io
import struct
import sys
import tempfile
import threading
import zlib
from pathlib import Path

import httpx2
from bench_tasks import Server, load, migrate, proc_status
from common import machine
from PIL import Image

API = "/api/v1"
MiB = 1024 * 1024


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """An all-black 8-bit RGB PNG: megabytes per gigabyte of pixels."""
    row = b"\x00" * (1 + 3 * width)
    deflate = zlib.compressobj(9)
    stream = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def encoded(fmt: str, size: tuple[int, int], mode: str = "RGB", **options: bool) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, fmt, **options)
    return buffer.getvalue()


def upload_all(url: str, name: str, data: bytes, parallel: int) -> list[str]:
    results: list[str] = []

    def one() -> None:
        response = httpx2.post(f"{url}{API}/projects/mem/artifacts/files", files={"file": (name, data)}, timeout=600)
        body = response.json()
        results.append(
            f"{response.status_code} {body.get('validation_status')}"
            + (
                f" ({body['validation_report']['errors'][0][:60]})"
                if body.get("validation_status") == "invalid"
                else ""
            )
        )

    threads = [threading.Thread(target=one) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parallel", type=int, default=4, help="uploads at once per kind (default 4)")
    args = parser.parse_args()
    kinds = [
        ("bomb-100mp.png", png_bomb(10_000, 10_000)),
        ("big-64mp.png", png_bomb(8000, 8000)),
        ("big-64mp.jpg", encoded("JPEG", (8000, 8000))),
        ("progressive.jpg", encoded("JPEG", (8000, 8000), progressive=True)),
        ("big-16mp.gif", encoded("GIF", (4000, 4000), "P")),
    ]
    print("bench_image_memory: peak RSS of a gateway validating huge images uploaded in parallel")
    print(f"machine:  {machine()}")
    print(f"load:     {load()}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="gw-imgmem-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        migrate(url)
        # One server per kind: VmHWM only grows, so each kind starts from the same warm floor.
        print(f"{'file':<16} {'on disk':>8} {'floor MiB':>9} {'peak MiB':>8} {'ratio':>5}  answers")
        for name, data in kinds:
            server = Server(workdir, url)
            try:
                httpx2.post(f"{server.url}{API}/projects", json={"id": "mem", "name": "Mem"})
                upload_all(server.url, "warm.png", encoded("PNG", (64, 64)), 1)
                floor = proc_status(server.pid)["VmHWM"] / 1024
                answers = upload_all(server.url, name, data, args.parallel)
                peak = proc_status(server.pid)["VmHWM"] / 1024
            finally:
                server.stop()
            failed |= any(not answer.startswith("201") for answer in answers)
            print(
                f"{name:<16} {len(data) / MiB:>7.2f}M {floor:>9.0f} {peak:>8.0f} {peak / floor:>5.2f}  "
                f"{sorted(set(answers))}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
