"""gateway/app/storage.py: content-addressed blobs that land whole or not at all, and safe client paths and names."""

import asyncio
import hashlib
import os
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
import pytest
from starlette.requests import ClientDisconnect

from gateway.app import storage
from gateway.app.errors import InvalidInput, NotFound, PayloadTooLarge
from gateway.app.storage import BlobStore, content_disposition, resolve_in_workspace, safe_filename

MiB = 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "artifacts")


def temp_files(store: BlobStore) -> list[Path]:
    return sorted(store.temp_dir.glob("*")) if store.temp_dir.exists() else []


def blob_files(store: BlobStore) -> list[Path]:
    return [p for p in store.blob_dir.rglob("*") if p.is_file()] if store.blob_dir.exists() else []


async def stream(total: int, *, chunk: int = CHUNK, then: BaseException | None = None) -> AsyncIterator[bytes]:
    """`total` bytes in chunks that all differ (so nothing dedupes by accident), then optionally an error."""
    block = os.urandom(chunk)
    sent = 0
    index = 0
    while sent < total:
        size = min(chunk, total - sent)
        yield index.to_bytes(8, "big") + block[8:size] if size > 8 else block[:size]
        sent += size
        index += 1
    if then is not None:
        raise then


async def collect(total: int) -> bytes:
    return b"".join([chunk async for chunk in stream(total)])


# --- landing blobs ---------------------------------------------------------------------------------------


def test_ingest_bytes_lands_read_only_at_its_content_address(store):
    blob = store.ingest_bytes(b"hello", max_bytes=10)

    digest = hashlib.sha256(b"hello").hexdigest()
    assert blob.sha256 == digest
    assert blob.size_bytes == 5
    assert blob.relative_path == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert blob.path == store.root / blob.relative_path
    assert blob.path.is_absolute()
    assert blob.path.read_bytes() == b"hello"
    assert blob.path.stat().st_mode & 0o777 == 0o444
    assert temp_files(store) == []


def test_the_same_bytes_are_stored_once_whichever_way_they_come(store, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"same bytes" * 1000)

    first = store.ingest_bytes(source.read_bytes(), max_bytes=MiB)
    second = store.ingest_file(source, max_bytes=MiB)

    async def upload():
        yield source.read_bytes()[:5000]
        yield source.read_bytes()[5000:]

    third = anyio.run(lambda: store.ingest(upload(), max_bytes=MiB))

    assert first == second == third
    assert blob_files(store) == [first.path]
    assert temp_files(store) == []


def test_a_damaged_blob_at_the_address_is_replaced(store):
    blob = store.ingest_bytes(b"good content", max_bytes=100)
    os.chmod(blob.path, 0o644)
    blob.path.write_bytes(b"bad")

    again = store.ingest_bytes(b"good content", max_bytes=100)

    assert again.path.read_bytes() == b"good content"
    assert again.path.stat().st_mode & 0o777 == 0o444


def test_async_ingest_skips_empty_chunks_and_stores_an_empty_stream(store):
    async def chunks():
        yield b""
        yield b"abc"
        yield b""

    async def nothing():
        return
        yield b""  # pragma: no cover - makes this an async generator

    blob = anyio.run(lambda: store.ingest(chunks(), max_bytes=10))
    empty = anyio.run(lambda: store.ingest(nothing(), max_bytes=10))

    assert blob.path.read_bytes() == b"abc"
    assert empty.size_bytes == 0
    assert empty.sha256 == hashlib.sha256(b"").hexdigest()


def test_ingest_file_copies_and_leaves_the_source_alone(store, tmp_path):
    source = tmp_path / "big.bin"
    data = os.urandom(3 * MiB + 17)
    source.write_bytes(data)

    blob = store.ingest_file(source, max_bytes=4 * MiB)

    assert blob.path.read_bytes() == data
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert source.read_bytes() == data


# --- limits and failures leave nothing behind -----------------------------------------------------------


def test_over_the_limit_raises_and_leaves_no_temp_file(store, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 101)

    with pytest.raises(PayloadTooLarge) as bytes_error:
        store.ingest_bytes(b"x" * 101, max_bytes=100)
    with pytest.raises(PayloadTooLarge):
        store.ingest_file(source, max_bytes=100)
    with pytest.raises(PayloadTooLarge):
        anyio.run(lambda: store.ingest(stream(5 * MiB), max_bytes=3 * MiB + 5))

    assert bytes_error.value.status == 413
    assert bytes_error.value.extensions == {"limit_bytes": 100}
    assert temp_files(store) == []
    assert blob_files(store) == []


def test_exactly_the_limit_is_accepted(store):
    blob = anyio.run(lambda: store.ingest(stream(2 * MiB), max_bytes=2 * MiB))
    assert blob.size_bytes == 2 * MiB


def test_a_file_that_grows_past_the_limit_while_copied_is_refused(store, tmp_path, monkeypatch):
    source = tmp_path / "growing.bin"
    source.write_bytes(b"y" * (3 * MiB))
    real_fstat = os.fstat

    def fstat_before_growth(fd):  # the size seen before the copy starts, as if the file grew afterwards
        result = list(real_fstat(fd))
        result[6] = 10
        return os.stat_result(result)

    monkeypatch.setattr(storage.os, "fstat", fstat_before_growth)
    with pytest.raises(PayloadTooLarge):
        store.ingest_file(source, max_bytes=2 * MiB)
    monkeypatch.undo()

    assert temp_files(store) == []
    assert blob_files(store) == []


def test_ingest_file_refuses_what_is_not_a_regular_file(store, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)

    with pytest.raises(InvalidInput, match="not a regular file"):
        store.ingest_file(fifo, max_bytes=100)
    with pytest.raises(InvalidInput, match="not a regular file"):
        store.ingest_file(tmp_path, max_bytes=100)
    with pytest.raises(
        OSError, match="Too many levels of symbolic links"
    ):  # O_NOFOLLOW: a symlink swapped in after the path was checked
        store.ingest_file(link, max_bytes=100)
    assert temp_files(store) == []


def test_a_client_disconnect_mid_stream_leaves_no_temp_file(store):
    with pytest.raises(ClientDisconnect):
        anyio.run(lambda: store.ingest(stream(3 * MiB, then=ClientDisconnect()), max_bytes=10 * MiB))
    with pytest.raises(ConnectionResetError):
        anyio.run(lambda: store.ingest(stream(3 * MiB, then=ConnectionResetError()), max_bytes=10 * MiB))

    assert temp_files(store) == []
    assert blob_files(store) == []


def test_a_write_error_leaves_no_temp_file(store, monkeypatch):
    def disk_full(self, chunks):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage._TempWriter, "write_all", disk_full)

    with pytest.raises(OSError, match="No space"):
        anyio.run(lambda: store.ingest(stream(2 * MiB), max_bytes=10 * MiB))
    with pytest.raises(OSError, match="No space"):
        store.ingest_bytes(b"abc", max_bytes=10)
    assert temp_files(store) == []


def test_a_failed_rename_leaves_no_temp_file(store, monkeypatch, tmp_path):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(storage.os, "replace", refuse)
    source = tmp_path / "s.bin"
    source.write_bytes(b"abc")

    with pytest.raises(PermissionError):
        store.ingest_file(source, max_bytes=10)
    with pytest.raises(PermissionError):
        anyio.run(lambda: store.ingest(stream(100), max_bytes=1000))
    assert temp_files(store) == []
    assert blob_files(store) == []


def test_cancellation_mid_stream_leaves_no_temp_file(store):
    started = anyio.Event()

    async def slow_client():
        async for chunk in stream(2 * MiB):
            yield chunk
        started.set()
        await anyio.sleep(60)  # the client stalls; the server gives up on it
        yield b"never"  # pragma: no cover

    async def main():
        async with anyio.create_task_group() as group:

            async def upload():
                await store.ingest(slow_client(), max_bytes=10 * MiB)

            group.start_soon(upload)
            await started.wait()
            assert len(temp_files(store)) == 1  # the bytes so far are on disk, not in memory
            group.cancel_scope.cancel()

    anyio.run(main)
    assert temp_files(store) == []
    assert blob_files(store) == []


def wait_for_no_temp_files(store: BlobStore) -> None:
    """Under native asyncio cancellation the worker thread finishes its batch, then removes the temp file."""
    deadline = time.monotonic() + 5
    while temp_files(store) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_asyncio_task_cancellation_leaves_no_temp_file(store):
    async def main():
        async def endless():
            while True:
                yield os.urandom(CHUNK)
                await asyncio.sleep(0)

        task = asyncio.create_task(store.ingest(endless(), max_bytes=1024 * MiB))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    for _ in range(5):  # cancel at different points: between batches or while a batch is being written
        asyncio.run(main())
    wait_for_no_temp_files(store)
    assert temp_files(store) == []
    assert blob_files(store) == []


def test_a_discard_while_a_batch_is_written_is_left_to_the_writing_thread(store):
    writer = store._open_temp()
    entered, release = threading.Event(), threading.Event()

    def slow_batch():
        entered.set()
        release.wait(5)
        writer.write_all([b"abc"])

    thread = threading.Thread(target=writer.run, args=(slow_batch,))
    thread.start()
    entered.wait(5)
    writer.discard()  # must not close the file under the writing thread
    assert writer.path.exists()
    release.set()
    thread.join(5)

    assert not writer.path.exists()
    assert writer.file.closed
    writer.discard()  # repeating is harmless


@pytest.mark.parametrize("how", ["anyio", "asyncio"])
def test_a_cancellation_during_the_final_rename_lets_the_blob_land_whole(store, monkeypatch, how):
    real_commit = BlobStore._commit

    def slow_commit(self, writer):
        time.sleep(0.3)
        return real_commit(self, writer)

    monkeypatch.setattr(BlobStore, "_commit", slow_commit)

    async def with_anyio():
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(partial(store.ingest, stream(100), max_bytes=1000))
                await anyio.sleep(0.1)
                scope.cancel()
        assert scope.cancelled_caught

    async def with_asyncio():
        task = asyncio.create_task(store.ingest(stream(100), max_bytes=1000))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    if how == "anyio":
        anyio.run(with_anyio)
    else:
        asyncio.run(with_asyncio())
    wait_for_no_temp_files(store)
    [blob] = blob_files(store)
    assert blob.stat().st_size == 100  # never half a file; with no row pointing at it, a sweep may remove it


# --- streaming stays streaming ----------------------------------------------------------------------------


def test_a_50_mb_stream_is_written_as_it_comes_with_bounded_memory(store):
    total = 50 * MiB
    seen_on_disk: list[int] = []
    gaps: list[float] = []

    async def watched():
        sent = 0
        async for chunk in stream(total):
            yield chunk
            sent += len(chunk)
            if sent % (10 * MiB) == 0 and sent < total:
                seen_on_disk.append(sum(p.stat().st_size for p in temp_files(store)))

    async def ticker(stop: anyio.Event):
        last = time.perf_counter()
        while not stop.is_set():
            await anyio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def main():
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(ticker, stop)
            blob = await store.ingest(watched(), max_bytes=total)
            stop.set()
        return blob

    tracemalloc.start()
    try:
        blob = anyio.run(main)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert blob.size_bytes == total
    assert peak < 16 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
    # Bytes reach the disk while the upload is still going, at most one batch behind.
    assert seen_on_disk
    assert all(size >= 10 * MiB * (i + 1) - 2 * storage.BATCH_BYTES for i, size in enumerate(seen_on_disk))
    # The event loop kept turning: no stall anywhere near the time 50 MB of file I/O takes.
    assert max(gaps) < 0.5, f"longest event-loop stall {max(gaps):.3f} s"


# --- addressing, deletion and sweeping --------------------------------------------------------------------


def test_lookup_delete_and_listing(store):
    blob = store.ingest_bytes(b"one", max_bytes=10)
    other = store.ingest_bytes(b"two", max_bytes=10)

    assert store.exists(blob.sha256)
    assert store.get(blob.sha256) == blob
    assert sorted(b.sha256 for b in store.iter_blobs()) == sorted([blob.sha256, other.sha256])
    assert store.delete(blob.sha256) is True
    assert store.delete(blob.sha256) is False
    assert not store.exists(blob.sha256)
    with pytest.raises(NotFound):
        store.get(blob.sha256)
    assert [b.sha256 for b in store.iter_blobs()] == [other.sha256]


def test_an_empty_store_lists_and_sweeps_nothing(store):
    assert list(store.iter_blobs()) == []
    assert store.sweep_temp(0) == 0


@pytest.mark.parametrize("digest", ["", "abc", "G" * 64, "A" * 64, "../" + "a" * 61, None])
def test_only_sha256_hex_digests_are_addresses(store, digest):
    with pytest.raises(ValueError, match="SHA-256"):
        store.path_for(digest)


def test_the_sweep_removes_at_once_every_temp_file_no_live_writer_holds(store):
    store.temp_dir.mkdir(parents=True)
    crashed = store.temp_dir / "ingest-crashed.part"  # written a moment ago by a process that died
    crashed.write_bytes(b"half a file")
    old_empty = store.temp_dir / "ingest-old-empty.part"
    old_empty.write_bytes(b"")
    two_minutes_ago = time.time() - 120
    os.utime(old_empty, (two_minutes_ago, two_minutes_ago))
    just_made = store.temp_dir / "ingest-just-made.part"  # empty and fresh: maybe a writer about to lock it
    just_made.write_bytes(b"")
    unrelated = store.temp_dir / "keep.txt"
    unrelated.write_bytes(b"x")
    live = storage._TempWriter(store.temp_dir)
    live.write_all([b"still coming in"])

    assert store.sweep_temp() == 2
    assert temp_files(store) == sorted([just_made, unrelated, live.path])

    live.close_and_remove()
    assert store.sweep_temp(grace_seconds=0) == 1  # the empty one, once its grace is over
    assert temp_files(store) == [unrelated]


def test_sweep_tolerates_a_file_vanishing_under_it(store, monkeypatch):
    store.temp_dir.mkdir(parents=True)
    (store.temp_dir / "ingest-gone.part").write_bytes(b"x")
    real_open = os.open

    def vanished(path, *args, **kwargs):
        if Path(path).name == "ingest-gone.part":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(storage.os, "open", vanished)
    assert store.sweep_temp(0) == 0


def test_sweeps_leave_symlinks_alone_and_tolerate_blobs_vanishing(store, tmp_path, monkeypatch):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not the store's")
    store.temp_dir.mkdir(parents=True)
    (store.temp_dir / "ingest-link.part").symlink_to(outside)
    blob = store.ingest_bytes(b"soon gone", max_bytes=100)
    blob.release()
    link = store.path_for("f" * 64)
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    real_stat = Path.stat

    def vanished(self, *args, **kwargs):
        if self.name == blob.sha256:
            raise FileNotFoundError(self)
        return real_stat(self, *args, **kwargs)

    assert store.sweep_temp(0) == 0
    assert store.collect("f" * 64, lambda: True) is False
    monkeypatch.setattr(Path, "stat", vanished)
    assert list(store.iter_blobs()) == []  # the vanished blob is skipped, the symlink is no blob
    assert outside.read_bytes() == b"not the store's"


def test_a_blob_is_pinned_from_its_first_byte_until_released(store):
    blob = store.ingest_bytes(b"a texture", max_bytes=100)

    assert blob.pin is not None
    assert blob.pin.held
    assert store.collect(blob.sha256, lambda: True) is False  # an in-flight hand-in is about to reference it
    assert store.sweep_temp(0) == 0
    blob.release()
    blob.release()  # harmless
    assert store.collect(blob.sha256, lambda: False) is False  # still referenced: kept
    assert store.collect(blob.sha256, lambda: True) is True
    assert not store.exists(blob.sha256)


def test_handing_in_stored_bytes_again_pins_the_stored_blob(store):
    first = store.ingest_bytes(b"shared bytes", max_bytes=100)
    first.release()

    again = store.ingest_bytes(b"shared bytes", max_bytes=100)

    assert again.pin is not None
    assert again.pin.held
    assert store.collect(again.sha256, lambda: True) is False
    assert temp_files(store) == []
    again.release()


def test_a_hand_in_racing_a_collection_of_the_same_bytes_still_gets_them(store):
    orphan = store.ingest_bytes(b"racing bytes", max_bytes=100)
    orphan.release()
    handed_in: list = []

    def while_locked() -> bool:
        # The collector holds the blob's lock and has decided; a hand-in of the same bytes starts now.
        worker = threading.Thread(target=lambda: handed_in.append(store.ingest_bytes(b"racing bytes", max_bytes=100)))
        worker.start()
        handed_in.append(worker)
        return True

    assert store.collect(orphan.sha256, while_locked) is True
    handed_in[0].join(10)

    blob = handed_in[1]
    assert blob.pin.held
    assert store.exists(blob.sha256)  # written again after the collection, pinned
    assert store.path_for(blob.sha256).read_bytes() == b"racing bytes"
    blob.release()


# --- workspace paths --------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / "scripts").mkdir(parents=True)
    (root / "scripts" / "player.gd").write_text("extends Node\n")
    (tmp_path / "secret.txt").write_text("outside")
    return root


def refused(root: Path, relative: str) -> dict:
    with pytest.raises(InvalidInput) as caught:
        resolve_in_workspace(root, relative)
    [error] = caught.value.extensions["errors"]
    assert error["loc"] == ["body", "path"]
    return error


def test_a_file_inside_the_workspace_resolves(workspace):
    assert resolve_in_workspace(workspace, "scripts/player.gd") == (workspace / "scripts/player.gd").resolve()
    assert resolve_in_workspace(workspace, "./scripts//player.gd").name == "player.gd"


@pytest.mark.parametrize(
    ("relative", "kind"),
    [
        ("../secret.txt", "path_escapes_root"),
        ("scripts/../../secret.txt", "path_escapes_root"),
        ("scripts/../scripts/player.gd", "path_escapes_root"),
        ("/etc/passwd", "path_absolute"),
        ("scripts\\player.gd", "path_invalid"),
        ("scripts/player.gd\x00.png", "path_invalid"),
        ("", "path_invalid"),
        ("scripts/missing.gd", "file_not_found"),
        ("scripts", "not_a_file"),
        ("a" * 5000, "path_invalid"),
    ],
)
def test_paths_that_leave_or_miss_the_workspace_are_refused(workspace, relative, kind):
    assert refused(workspace, relative)["type"] == kind


def test_a_symlink_out_of_the_workspace_is_refused(workspace, tmp_path):
    (workspace / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (workspace / "escape_dir").symlink_to(tmp_path)
    (workspace / "loop").symlink_to(workspace / "loop")

    assert refused(workspace, "escape.txt")["type"] == "path_escapes_root"
    assert refused(workspace, "escape_dir/secret.txt")["type"] == "path_escapes_root"
    assert refused(workspace, "loop")["type"] == "path_invalid"


def test_a_symlink_that_stays_inside_is_followed(workspace):
    (workspace / "current.gd").symlink_to(workspace / "scripts" / "player.gd")
    assert resolve_in_workspace(workspace, "current.gd") == (workspace / "scripts/player.gd").resolve()


def test_a_missing_workspace_is_a_clear_error(tmp_path):
    assert refused(tmp_path / "nowhere", "a.txt")["type"] == "workspace_missing"


def test_the_error_location_can_be_named(workspace):
    with pytest.raises(InvalidInput) as caught:
        resolve_in_workspace(workspace, "../x", loc=("arguments", "path"))
    assert caught.value.extensions["errors"][0]["loc"] == ["arguments", "path"]


# --- file names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("player.gd", "player.gd"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\evil.exe", "evil.exe"),
        ("..", "file"),
        ("", "file"),
        ("...", "file"),
        ("   ", "file"),
        ("dir/", "file"),
        ('a<b>c:d|e?f*g"h.png', "a_b_c_d_e_f_g_h.png"),
        ("tab\tand\nnewline.txt", "tabandnewline.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # a right-to-left override would hide the real extension
        ("  spaced   out  .md", "spaced out.md"),
        ("trailing.dots...", "trailing.dots"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        (".gitignore", ".gitignore"),
        ("Captura de pantalla.png", "Captura de pantalla.png"),
        ("re\u0301sume\u0301.pdf", "résumé.pdf"),  # NFC: one code point per accented letter
        ("héros_😀.png", "héros_😀.png"),
        ("日本語のファイル.tscn", "日本語のファイル.tscn"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_keeps_the_extension_when_it_shortens():
    long = safe_filename("é" * 300 + ".png")
    assert long.endswith(".png")
    assert len(long.encode()) <= 255
    long.encode().decode("utf-8")  # never cut inside a character

    no_real_extension = safe_filename("x." + "y" * 300)
    assert len(no_real_extension.encode()) <= 255


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("player.gd", "attachment; filename=\"player.gd\"; filename*=UTF-8''player.gd"),
        ("résumé.pdf", "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
        ("привет.txt", "attachment; filename=\"file.txt\"; filename*=UTF-8''%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82.txt"),
        ("ёж", "attachment; filename=\"file\"; filename*=UTF-8''%D1%91%D0%B6"),
        ("100%.txt", "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt"),
        ('say "hi".md', "attachment; filename=\"say _hi_.md\"; filename*=UTF-8''say%20_hi_.md"),
        ("../../x.png", "attachment; filename=\"x.png\"; filename*=UTF-8''x.png"),
        (".env", "attachment; filename=\".env\"; filename*=UTF-8''.env"),
    ],
)
def test_content_disposition(name, expected):
    assert content_disposition(name) == expected


def test_content_disposition_inline():
    assert content_disposition("shot.png", inline=True).startswith('inline; filename="shot.png"')
