"""Content-addressed blob store for artifacts, and safe handling of the paths and names clients send.

Blobs live at `<root>/sha256/ab/cd/<hex digest>`, read-only. A write streams into `<root>/tmp/` (same file
system), hashing as it goes, and lands with one atomic `os.replace`; a failed or cancelled write leaves nothing.

Crash leftovers are told apart from work in progress by file locks (`flock`, which a process's death releases):
a writer holds a shared lock on its temp file from the moment it exists, and keeps it on the same open file
after the rename, as the blob's `Pin`, until the artifact row that references the bytes is committed. A hand-in
of bytes already stored pins the existing blob the same way. The sweepers (`sweep_temp`, `collect`) take an
exclusive lock without waiting and skip whatever they cannot lock: they remove what no live writer holds, at
start-up or any time after, and never a blob an in-flight hand-in is about to reference, in any process.
"""

import fcntl
import hashlib
import os
import re
import stat
import tempfile
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeVar
from urllib.parse import quote

import anyio
import anyio.to_thread

from gateway.app.errors import InvalidInput, NotFound, PayloadTooLarge

# Async ingest hands chunks to a worker thread in batches of about this size: large enough that the
# thread hop costs little, small enough that memory stays bounded whatever the file size.
BATCH_BYTES = 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
MAX_FILENAME_BYTES = 255

T = TypeVar("T")

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TEMP_PREFIX = "ingest-"
_TEMP_SUFFIX = ".part"
# A temp file is created, then locked: an empty one younger than this may be a writer between the two steps.
TEMP_GRACE_SECONDS = 60.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Pin:
    """A shared lock on a blob's file: while it is held, no sweep removes the blob. Release it once a row
    references the bytes (or the hand-in failed); releasing twice is harmless."""

    def __init__(self, file: BinaryIO) -> None:
        self._file: BinaryIO | None = file

    @property
    def held(self) -> bool:
        """Whether the lock is still held."""
        return self._file is not None

    def release(self) -> None:
        """Let the blob go (closing the file releases the lock)."""
        file, self._file = self._file, None
        if file is not None:
            file.close()


@dataclass(frozen=True, slots=True)
class Blob:
    """A stored blob: its digest, its size and where it lives (relative to the store's root, and absolute).

    A blob just written or handed in again comes pinned (`pin`): release it once a row references it.
    """

    sha256: str
    size_bytes: int
    relative_path: str
    path: Path
    pin: Pin | None = field(default=None, compare=False, repr=False)

    def release(self) -> None:
        """Release the blob's pin, if it has one."""
        if self.pin is not None:
            self.pin.release()


def _check_digest(sha256: str) -> str:
    if not isinstance(sha256, str) or not _DIGEST.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest (64 lower-case hex characters): {sha256!r}")
    return sha256


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the limit of {max_bytes} bytes.", limit_bytes=max_bytes)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some file systems refuse to open or fsync a directory, which is fine.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platform dependent
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - platform dependent
        pass
    finally:
        os.close(fd)


class _TempWriter:
    """A temp file inside the store that hashes and counts what is written to it.

    Async ingest runs the file work in worker threads. Under native asyncio cancellation the awaiting task
    moves on while such a thread is still running, so the file is never closed under a running thread:
    a discard requested meanwhile is carried out by that thread when it finishes.
    """

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=directory)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # "a live writer has this": sweeps leave it alone
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb", buffering=0)
        self.detached = False
        self.hash = hashlib.sha256()
        self.size = 0
        self._lock = threading.Lock()
        self._busy = False
        self._abandoned = False

    def run(self, work: Callable[[], T]) -> T:
        """Run file work (in a worker thread), carrying out a discard requested while it ran."""
        with self._lock:
            self._busy = True
        try:
            return work()
        finally:
            with self._lock:
                self._busy = False
                if self._abandoned:
                    self.close_and_remove()

    def write_all(self, chunks: list[bytes]) -> None:
        """Write and hash a batch of chunks."""
        for chunk in chunks:
            self.hash.update(chunk)
            view = memoryview(chunk)
            while view:
                written = self.file.write(view)
                view = view[written:]
            self.size += len(chunk)

    def close_and_remove(self) -> None:
        """Remove and close the temp file (removed first, while still locked), from the thread that owns it."""
        if self.detached:  # it became a blob, and its file is the blob's pin now
            return
        self.path.unlink(missing_ok=True)
        if not self.file.closed:
            self.file.close()

    def detach(self) -> Pin:
        """The renamed file's lock, handed over as the blob's pin; the writer no longer closes it."""
        self.detached = True
        return Pin(self.file)

    def discard(self) -> None:
        """Close and remove the temp file (now, or when the running file work ends); safe to repeat."""
        with self._lock:
            if self._busy:
                self._abandoned = True
                return
            self.close_and_remove()


class BlobStore:
    """Content-addressed, write-once storage of artifact bytes under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.blob_dir = self.root / "sha256"
        self.temp_dir = self.root / "tmp"

    # --- addressing -------------------------------------------------------------------------------------

    def relative_path_for(self, sha256: str) -> str:
        """The blob's path relative to the root: `sha256/ab/cd/<digest>`."""
        digest = _check_digest(sha256)
        return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"

    def path_for(self, sha256: str) -> Path:
        """The absolute path where the blob with this digest lives (whether or not it exists)."""
        return self.root / self.relative_path_for(sha256)

    def exists(self, sha256: str) -> bool:
        """Whether a blob with this digest is stored."""
        return self.path_for(sha256).is_file()

    def get(self, sha256: str) -> Blob:
        """The stored blob with this digest, or NotFound."""
        path = self.path_for(sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFound(f"No stored blob {sha256}.", resource="blob", id=sha256) from None
        return Blob(sha256=sha256, size_bytes=size, relative_path=self.relative_path_for(sha256), path=path)

    def iter_blobs(self) -> Iterator[Blob]:
        """Every stored blob (for a sweep of blobs no artifact references)."""
        if not self.blob_dir.is_dir():
            return
        for path in sorted(self.blob_dir.glob("*/*/*")):
            if not _DIGEST.match(path.name):
                continue
            try:
                info = path.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed since the listing (a deletion, another sweep)
                continue
            if stat.S_ISREG(info.st_mode):
                yield Blob(
                    sha256=path.name,
                    size_bytes=info.st_size,
                    relative_path=self.relative_path_for(path.name),
                    path=path,
                )

    def delete(self, sha256: str) -> bool:
        """Remove a blob whatever holds it (prefer `collect`); False when it was not there."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def collect(self, sha256: str, unreferenced: Callable[[], bool]) -> bool:
        """Remove a blob no in-flight hand-in holds and that `unreferenced()` (asked under the lock) says no row
        references; True when it went. A hand-in that pins the blob meanwhile waits, then writes it again."""
        path = self.path_for(sha256)
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except OSError:  # gone already, or not a file this store wrote (a symlink): not ours to remove
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # pinned: an upload is about to reference it
            if not _same_file(fd, path) or not unreferenced():
                return False
            path.unlink(missing_ok=True)
            return True
        finally:
            os.close(fd)

    def sweep_temp(self, grace_seconds: float = TEMP_GRACE_SECONDS) -> int:
        """Remove temp files no live writer holds (a crash's leftovers); returns how many went.

        An empty one younger than `grace_seconds` stays: it may be a writer between creating and locking it.
        """
        if not self.temp_dir.is_dir():
            return 0
        cutoff = time.time() - grace_seconds
        removed = 0
        for path in self.temp_dir.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            try:
                fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
            except OSError:  # another sweeper or the writer got there first, or a symlink: left alone
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer holds it
                info = os.fstat(fd)
                if info.st_size == 0 and info.st_mtime > cutoff:
                    continue
                if _same_file(fd, path):
                    path.unlink(missing_ok=True)
                    removed += 1
            finally:
                os.close(fd)
        return removed

    # --- writing ----------------------------------------------------------------------------------------

    def _open_temp(self) -> _TempWriter:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        return _TempWriter(self.temp_dir)

    def _commit(self, writer: _TempWriter) -> Blob:
        """Move a finished temp file to its content address (or drop it when the address is taken), pinned."""
        digest = writer.hash.hexdigest()
        target = self.path_for(digest)
        pin = _pin_existing(target, writer.size)
        if pin is not None:
            writer.close_and_remove()
        else:
            fd = writer.file.fileno()
            os.fsync(fd)
            os.fchmod(fd, 0o444)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(writer.path, target)  # the open file, and its lock, go with it
            pin = writer.detach()
            _fsync_directory(target.parent)
        return Blob(
            sha256=digest, size_bytes=writer.size, relative_path=self.relative_path_for(digest), path=target, pin=pin
        )

    async def ingest(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Blob:
        """Store a stream of chunks; file I/O runs in a worker thread so the event loop keeps serving."""
        writer = self._open_temp()
        try:
            batch: list[bytes] = []
            batched = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                if writer.size + batched + len(chunk) > max_bytes:
                    raise _too_large(max_bytes)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= BATCH_BYTES:
                    await anyio.to_thread.run_sync(writer.run, partial(writer.write_all, batch))
                    batch, batched = [], 0
            if batch:
                await anyio.to_thread.run_sync(writer.run, partial(writer.write_all, batch))
            # Once the bytes are complete, landing them is not interrupted half-way: a cancellation
            # arriving now is delivered to the caller right after, with the blob in place (whole).
            with anyio.CancelScope(shield=True):
                blob = await anyio.to_thread.run_sync(writer.run, partial(self._commit, writer))
        except BaseException:
            writer.discard()
            raise
        return blob

    def ingest_bytes(self, data: bytes, *, max_bytes: int) -> Blob:
        """Store bytes already in memory (e.g. decoded from an MCP call)."""
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        writer = self._open_temp()
        try:
            writer.write_all([data])
            return self._commit(writer)
        except BaseException:
            writer.discard()
            raise

    def ingest_file(self, source: Path, *, max_bytes: int, within: Path | None = None) -> Blob:
        """Copy a file in (e.g. one from a project's workspace), streaming; the source is left as it is.

        With `within`, the file actually opened must lie under that directory: O_NOFOLLOW guards only the last
        path component, so a directory swapped for a symlink between the checks and the open is caught here.
        """
        # O_NONBLOCK keeps a FIFO from blocking the open; O_NOFOLLOW refuses a symlink swapped in after checks.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(source, flags)
        try:
            if within is not None:
                _check_opened_within(fd, within, source)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InvalidInput(f"{source.name!r} is not a regular file.")
            if info.st_size > max_bytes:
                raise _too_large(max_bytes)
            handle = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            writer = self._open_temp()
            try:
                while chunk := handle.read(COPY_CHUNK_BYTES):
                    if writer.size + len(chunk) > max_bytes:
                        raise _too_large(max_bytes)
                    writer.write_all([chunk])
                return self._commit(writer)
            except BaseException:
                writer.discard()
                raise


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd` (and not a newer one, or nothing)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _pin_existing(target: Path, size: int) -> Pin | None:
    """A pin on the blob already stored at `target` with this size, or None (absent, or removed meanwhile)."""
    try:
        fd = os.open(target, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a sweep decides about it (a moment)
        if os.fstat(fd).st_size != size or not _same_file(fd, target):
            os.close(fd)
            return None
        return Pin(os.fdopen(fd, "rb"))
    except BaseException:
        os.close(fd)
        raise


# --- paths and names clients send ---------------------------------------------------------------------


def _check_opened_within(fd: int, root: Path, source: Path) -> None:
    """Refuse an open file whose real path (as the kernel reports it) is outside `root`."""
    link = Path(f"/proc/self/fd/{fd}")
    if not link.exists():  # pragma: no cover - no procfs (not Linux): the path checks before the open stand
        return
    opened = Path(os.readlink(link))
    if not opened.is_relative_to(root.resolve()):
        raise _path_error(f"{source.name!r} is not inside the workspace.", "path_escapes_root", ("body", "path"))


def _path_error(message: str, kind: str, loc: tuple[str, ...]) -> InvalidInput:
    return InvalidInput(message, errors=[{"loc": list(loc), "msg": message, "type": kind}])


def resolve_in_workspace(root: Path, relative: str, *, loc: tuple[str, ...] = ("body", "path")) -> Path:
    """The regular file a client names inside a workspace root, resolved; anything leaving the root is refused."""
    if not relative or "\x00" in relative:
        raise _path_error("The path is empty or contains a NUL character.", "path_invalid", loc)
    if "\\" in relative:
        raise _path_error("Use forward slashes in the path, not backslashes.", "path_invalid", loc)
    pure = PurePosixPath(relative)
    if pure.is_absolute():
        raise _path_error("The path must be relative to the workspace, not absolute.", "path_absolute", loc)
    if ".." in pure.parts:
        raise _path_error("The path must not contain '..'.", "path_escapes_root", loc)
    try:
        base = Path(root).resolve(strict=True)
    except (OSError, RuntimeError):
        raise _path_error("The project's workspace does not exist.", "workspace_missing", loc) from None
    try:
        target = (base / pure).resolve(strict=True)
    except FileNotFoundError:
        raise _path_error(f"No file {relative!r} in the workspace.", "file_not_found", loc) from None
    except (OSError, RuntimeError) as exc:  # symlink loops, names too long, permissions
        raise _path_error(f"The path {relative!r} cannot be resolved: {exc}.", "path_invalid", loc) from None
    if not target.is_relative_to(base):
        raise _path_error(f"The path {relative!r} leads outside the workspace.", "path_escapes_root", loc)
    if not target.is_file():
        raise _path_error(f"{relative!r} is not a regular file.", "not_a_file", loc)
    return target


_RESERVED_CHARS = re.compile(r'[<>:"/\\|?*]')
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, bidi overrides, lone surrogates, line breaks
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_FALLBACK_NAME = "file"


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def safe_filename(name: str) -> str:
    """A file name safe to hand back in a download: no directories, controls or reserved characters; never empty."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    text = _RESERVED_CHARS.sub("_", text)
    text = " ".join(text.split())  # any run of white space becomes one space, none at the ends
    text = text.rstrip(". ")  # Windows drops trailing dots and spaces
    if not text.strip("._ "):
        return _FALLBACK_NAME
    stem, dot, suffix = text.rpartition(".")
    if not stem:  # a dot file (".gitignore") or no extension at all
        stem, dot, suffix = text, "", ""
    if stem.split(".")[0].upper() in _WINDOWS_DEVICES:
        stem = f"_{stem}"
    if len(suffix.encode("utf-8")) > 32:  # not an extension worth keeping whole
        stem, dot, suffix = f"{stem}{dot}{suffix}", "", ""
    room = MAX_FILENAME_BYTES - len(f"{dot}{suffix}".encode())
    stem = _truncate_utf8(stem, room).rstrip(". ") or _FALLBACK_NAME
    return f"{stem}{dot}{suffix}"


_RFC5987_SAFE = "!#$&+-.^_`|~"


def _ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    text = decomposed.encode("ascii", "ignore").decode("ascii")
    # Keep printable ASCII; '%' would be read as an escape by some browsers, quotes would end the parameter.
    text = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"%\\' else "_" for c in text)
    if not text.strip("_ ."):
        return _FALLBACK_NAME
    if text.startswith(".") and not name.startswith("."):  # the whole stem was non-ASCII
        return f"{_FALLBACK_NAME}{text}"
    return text


def content_disposition(name: str, *, inline: bool = False) -> str:
    """A Content-Disposition header value (RFC 6266): an ASCII `filename` plus the UTF-8 `filename*`."""
    safe = safe_filename(name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{_ascii_fallback(safe)}\"; filename*=UTF-8''{quote(safe, safe=_RFC5987_SAFE)}"
