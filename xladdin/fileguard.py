"""File safety for the writers (weekly job, refresh, template, report): kills never lose a file.

* **Owner tags.** Temporary names carry ``<pid>-h<host hash>`` (:func:`owner_tag`), so a later run can
  tell what a killed process left behind (:func:`abandoned`) from what a live one is writing.
* **Read-only checks.** :func:`read_only_reason` says why a file or folder must not be written (no write
  permission, no write bit at all -- the Windows *Read-only* attribute -- or a read-only file system).
* **Owner locks.** :func:`owner_lock` creates ``LOCK`` exclusively with the owner's pid, host and start
  time; a second owner waits or fails with :class:`LockBusy` naming the first; a lock whose process is gone
  (same host) or that is older than :data:`STALE_AFTER` is taken over, and the caller is told.
* **Atomic writes.** :func:`atomic_target` (and :func:`atomic_write_bytes` / :func:`atomic_write_text` /
  :func:`atomic_write_with` on top of it) write a temporary file beside the target and ``os.replace`` it
  only once it is complete and fsynced: a failed write (full disk, file-size limit, a kill) leaves the
  previous file. A symlink is followed: its target is replaced and the link stays a link.
  :func:`atomic_write_all` replaces several files only once all of them are written: a failed write leaves
  every one as it was.
* **Inputs are never outputs.** :func:`check_outputs` refuses, before anything is written, an output
  path that names one of the command's inputs (or another output): same path, a symlink to it, a hard
  link, or another spelling on a case-insensitive file system (:func:`same_file`).
* **Fault injection.** :data:`FAULT_HOOK` (tests only) is called before every file operation of the final
  steps (:func:`fileop`), so a test can kill the process at each one and check the folder.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import glob
import hashlib
import inspect
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from xladdin.errors import ReportedError

#: seconds after which a lock, a staging folder or a temporary file of another host (whose process
#: cannot be checked) counts as abandoned; no weekly job or refresh runs this long
STALE_AFTER = 6 * 3600.0
#: seconds a new owner may take to write its record into the lock it created (an empty lock younger than
#: this is being written; an older one was left by a process killed while taking it)
WRITE_GRACE = 2.0
#: tests only: ``FAULT_HOOK(op, path)`` runs before each file operation of a final step (see :func:`fileop`)
FAULT_HOOK: Callable[[str, Path], None] | None = None

_OWNER_RE = re.compile(r"(\d+)-h([0-9a-f]{8})")
#: paths this process is writing right now (never swept, whatever their owner tag says)
_LIVE: set[str] = set()
#: tokens of the locks this process holds now
_HELD: set[str] = set()


def fileop(op: str, path: Path) -> None:
    """Announce file operation ``op`` on ``path`` to :data:`FAULT_HOOK` (no-op unless a test set it)."""
    if FAULT_HOOK is not None:
        FAULT_HOOK(op, Path(path))


# ------------------------------------------------------------------------------------- owners
def host_tag() -> str:
    """8 hex digits identifying this host (sha1 of the host name)."""
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def owner_tag() -> str:
    """``<pid>-h<host_tag>``: put in temporary names so that a later run can find their owner."""
    return f"{os.getpid()}-h{host_tag()}"


#: the largest process id any system hands out (Linux: 2**22; Windows and macOS fit in 32 bits)
MAX_PID = 2**31 - 1


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this host (False for a number no process can have)."""
    if not 0 < pid <= MAX_PID:
        return False
    if os.name == "nt":  # pragma: no cover - Windows: os.kill(pid, 0) would send CTRL_C_EVENT
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - not run here (no Windows)
    import ctypes  # Windows only (the process check)
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists, it is someone else's
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def mark_live(path: Path) -> None:
    """Mark ``path`` as being written by this process (sweeps skip it) until :func:`unmark_live`."""
    _LIVE.add(str(Path(path).absolute()))


def unmark_live(path: Path) -> None:
    _LIVE.discard(str(Path(path).absolute()))


def owner_in_name(name: str) -> tuple[int | None, str | None]:
    """(pid, host tag) from a name holding :func:`owner_tag`; (None, None) when it holds none."""
    m = _OWNER_RE.search(name)
    return (int(m.group(1)), m.group(2)) if m else (None, None)


def abandoned(path: Path, before: float, pid: int | None, host: str | None) -> bool:
    """True when ``path`` (a temporary file or folder owned by ``pid`` on host ``host``) was abandoned.

    Abandoned = modified before ``before`` (epoch seconds, the start of the current run) and: its owner
    process is gone (``host`` is this host's tag, or None for names that carry only a pid; this very
    process counts as gone unless it is writing ``path`` now, since pids are reused -- pid 1 in every
    container), or ``host`` is another host and ``path`` is older than :data:`STALE_AFTER`, or there
    is no owner at all (``pid`` None: older versions) and ``path`` is older than ten minutes.
    """
    path = Path(path)
    if str(path.absolute()) in _LIVE:
        return False
    try:
        mtime = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if mtime >= before:
        return False
    age = time.time() - mtime
    if pid is None:
        return age > 600
    if host is not None and host != host_tag():
        return age > STALE_AFTER
    return pid == os.getpid() or not pid_alive(pid)


def remove(path: Path) -> None:
    """Remove a file or a folder tree (missing is fine)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def fsync_dir(folder: Path) -> None:
    """Persist the renames in ``folder`` (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------- temporary files
def temp_prefix(path: Path) -> str:
    """Start of the temporary files that replace ``path`` (``.<stem>.tmp.``; the owner tag follows)."""
    return f".{Path(path).stem}.tmp."


def sweep_temp_files(path: str | Path, before: float | None = None) -> list[Path]:
    """Remove the temporary files that killed writers of ``path`` left beside it; return them.

    Candidates are ``.<stem>.tmp.<owner>.<random><suffix>`` in ``path``'s folder (written by
    :func:`atomic_target`; older versions' names carry no owner); one is removed
    when :func:`abandoned` (its writer is gone; modified before ``before``, default now).
    """
    path = Path(path)
    before = time.time() if before is None else before
    prefix = temp_prefix(path)
    removed = []
    for p in sorted(path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(path.suffix)}")):
        if p.is_file() and abandoned(p, before, *owner_in_name(p.name[len(prefix):].split(".", 1)[0])):
            remove(p)
            removed.append(p)
    return removed


def lock_path(path: str | Path) -> Path:
    """The lock file of ``path`` while a process rewrites it: ``.<name>.xladdin-lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.xladdin-lock")


# ------------------------------------------------------------------------------------- atomic writes
def real_path(path: str | Path) -> Path:
    """``path`` with every symlink followed (absolute); a missing file's folder is resolved the same way."""
    return Path(os.path.realpath(path))


class NoSpace(ReportedError, OSError):
    """A write failed for want of room (full disk, quota, file-size limit); the message names the file.
    ``path``: the file being written; ``why``: the want of room, as :func:`no_space` says it."""

    path: Path
    why: str


#: errno values of a write that found no room, and the names libxml2 (lxml, openpyxl's writer) gives them
_NO_SPACE = {errno.ENOSPC: "the disk is full", errno.EFBIG: "a file-size limit was reached",
             getattr(errno, "EDQUOT", -1): "the disk quota is exhausted"}
_NO_SPACE_TEXT = {"IO_ENOSPC": errno.ENOSPC, "IO_EFBIG": errno.EFBIG, "IO_EDQUOT": getattr(errno, "EDQUOT", -1)}


def no_space(exc: BaseException) -> str | None:
    """Why ``exc`` (or an exception in its chain) is a write that found no room, or None."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        code = getattr(e, "errno", None) if isinstance(e, OSError) else None
        code = code if code in _NO_SPACE else _NO_SPACE_TEXT.get(str(e).strip().split(" ")[0].rstrip(":,"))
        if code in _NO_SPACE:
            return _NO_SPACE[code]
        e = e.__cause__ or e.__context__
    return None


def no_room(path: str | Path, exc: BaseException) -> NoSpace | None:
    """The :class:`NoSpace` for a write of ``path`` that failed with ``exc`` (``exc`` itself when it is one), or
    None when ``exc`` is no want of room."""
    if isinstance(exc, NoSpace):
        return exc
    why = no_space(exc)
    if why is None:
        return None
    err = NoSpace(f"cannot write {Path(path).name}: no room ({why}); free space (or raise the limit) and run again, "
                  "or write elsewhere")
    err.path, err.why = Path(path), why
    return err


def _chain_tracebacks(exc: BaseException) -> Iterator[Any]:
    """The tracebacks of ``exc`` and of every exception in its chain (``__cause__`` / ``__context__``)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if e.__traceback__ is not None:
            yield e.__traceback__
        todo += [c for c in (e.__cause__, e.__context__) if c is not None]


def _release_writers(exc: BaseException) -> None:
    """Close what a failed workbook save left open in the frames of ``exc``'s traceback and of the
    exceptions in its chain (XlsxWriter re-raises a failed write as ``FileCreateError`` from ``close``: the
    frame holding its archive is in the chained error's traceback only).

    openpyxl and XlsxWriter open a :class:`zipfile.ZipFile` (and openpyxl an lxml writer generator per
    sheet) and close them only on success; after a failed write (full disk) each would be closed by its
    ``__del__`` or by the garbage collector, which writes again and prints a second, raw traceback
    ("Exception ignored in ZipFile.__del__"). Closing them here, errors suppressed, leaves nothing to do.
    """
    for tb in _chain_tracebacks(exc):
        _release_frames(tb)


def _release_frames(tb: Any) -> None:
    """:func:`_release_writers` for the frames of one traceback."""
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            stream = getattr(value, "xf", None)  # openpyxl's WorksheetWriter: the sheet's XML generator
            if inspect.isgenerator(stream):
                with contextlib.suppress(Exception):
                    stream.close()
            archive = getattr(value, "_archive", value)  # openpyxl's ExcelWriter holds its archive
            if isinstance(archive, zipfile.ZipFile) and archive.fp is not None:
                with contextlib.suppress(Exception):
                    archive.close()
                if archive.fp is not None:  # close() failed before letting go of the file
                    with contextlib.suppress(Exception):
                        archive.fp.close()
                    archive.fp = None
        tb = tb.tb_next


@contextlib.contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success fsync it and ``os.replace`` ``path``.

    On an exception the temporary file is deleted and ``path`` is left as it was. A read-only ``path``
    or folder (:func:`read_only_reason`) is refused with :class:`PermissionError` before anything is
    written. A symlink is followed: the file it points to is replaced, the link stays. The temporary
    name ``.<stem>.tmp.<pid>-h<host>.<random><suffix>`` says whose it is, so that a file left by a
    killed process can be removed later (:func:`sweep_temp_files`).
    """
    path = real_path(path)
    tmp_path = _temp_beside(path)
    try:
        fileop("temp created", tmp_path)
        try:
            yield tmp_path
            _seal(path, tmp_path)
        except BaseException as exc:
            _failed_write(path, exc)
            raise
        fileop("replace", path)
        os.replace(tmp_path, path)
        fileop("fsync folder", path.parent)
        fsync_dir(path.parent)
    finally:
        _drop_temp(tmp_path)


def atomic_write_all(writes: Iterable[tuple[str | Path, Callable[[Path], object]]]) -> list[Path]:
    """Several files, replaced together: each ``write(tmp)`` writes the whole file of its ``path`` at a temporary
    path beside it (as :func:`atomic_target`); only once all are written and fsynced do they replace their paths,
    in order. A failed write -- a full disk, a file-size limit, an error -- leaves every path as it was, not only
    its own (a kill between two of the renames leaves the first ones new). Folders are created if needed.
    Returns the paths."""
    writes = list(writes)
    targets: list[Path] = []
    temps: list[Path] = []
    try:
        for path, write in writes:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            target = real_path(path)
            temps.append(_temp_beside(target))
            fileop("temp created", temps[-1])
            try:
                write(temps[-1])
                _seal(target, temps[-1])
            except BaseException as exc:
                _failed_write(target, exc)
                raise
            targets.append(target)
        for target, tmp in zip(targets, temps, strict=True):
            fileop("replace", target)
            os.replace(tmp, target)
        for folder in dict.fromkeys(t.parent for t in targets):
            fileop("fsync folder", folder)
            fsync_dir(folder)
    finally:
        for tmp in temps:
            _drop_temp(tmp)
    return [Path(p) for p, _ in writes]


def _temp_beside(path: Path) -> Path:
    """A new empty temporary file in ``path``'s folder, named for its owner (:func:`temp_prefix`,
    :func:`owner_tag`) and marked live; PermissionError when ``path`` or its folder is read-only."""
    for p in (path, path.parent):
        reason = read_only_reason(p)
        if reason:
            raise PermissionError(f"{reason}: {path.name} is replaced by writing a new file beside it; make it "
                                  "writable, or write elsewhere")
    fd, tmp = tempfile.mkstemp(prefix=f"{temp_prefix(path)}{owner_tag()}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    mark_live(Path(tmp))
    return Path(tmp)


def _seal(path: Path, tmp: Path) -> None:
    """Give ``tmp`` the permissions of ``path`` (a new file: those the umask allows) and fsync it."""
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    fileop("fsync temp", tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())


def _failed_write(path: Path, exc: BaseException) -> None:
    """After a write of ``path`` failed with ``exc``: close what a workbook writer left open, and raise
    :class:`NoSpace` naming ``path`` when there was no room."""
    _release_writers(exc)
    err = no_room(path, exc)
    if err is not None and err is not exc:
        raise err from exc


def _drop_temp(tmp: Path) -> None:
    """Forget a temporary file (no longer live) and delete it unless it replaced its target."""
    unmark_live(tmp)
    if tmp.exists():
        tmp.unlink()


def atomic_write_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` writes the whole file at a temporary path, which then replaces ``path`` (see
    :func:`atomic_target`); the folder is created if needed. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        write(tmp)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write_with`)."""
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write_with`)."""
    return atomic_write_with(path, lambda tmp: tmp.write_text(text, encoding=encoding))


# ------------------------------------------------------------------------------------- inputs vs outputs
class OverwriteRefused(ValueError):
    """An output path names one of the command's inputs (or another output); nothing was written."""


def _case_insensitive(folder: Path) -> bool:
    """True when ``folder``'s file system looks names up without case; False when that cannot be told.

    Told from the nearest folder that exists (``folder`` or the first of its parents): one of its entries with a
    letter in its name is found, as the same entry, under that name with the case of its letters swapped -- the
    folder's own file system answers, also at the root of a mounted disk; without such an entry, the folder's own
    name (else its nearest parent's with a letter) is looked up the same way, one level up.
    """
    folder = real_path(folder)
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    try:
        with os.scandir(folder) as entries:
            name = next((e.name for e in entries if e.name.swapcase() != e.name), None)
    except OSError:
        return False
    if name is not None:
        return _same_entry(folder / name, folder / name.swapcase())
    parts = folder.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].swapcase() != parts[i]:
            return _same_entry(Path(*parts[:i + 1]), Path(*parts[:i], parts[i].swapcase()))
    return False


def _same_entry(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are one directory entry (the same inode; symlinks are not followed)."""
    try:
        return os.path.samestat(os.lstat(a), os.lstat(b))
    except OSError:
        return False


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` name the same file.

    Both existing: :func:`os.path.samefile` (the same inode: symlinks, hard links, another spelling of
    the name on a case-insensitive file system). Otherwise: the same path once symlinks are followed,
    compared without case when the folder's file system ignores case.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    ra, rb = real_path(a), real_path(b)
    if os.path.normcase(str(ra)) == os.path.normcase(str(rb)):
        return True
    return str(ra).casefold() == str(rb).casefold() and _case_insensitive(ra.parent)


def check_outputs(outputs: Iterable[tuple[str, str | Path]], inputs: Iterable[tuple[str, str | Path]] = ()) -> None:
    """Refuse, before anything is written, an output that would replace an input or another output.

    Parameters
    ----------
    outputs : (what, path) of every file the command will write, e.g. ``("--eml", "r.eml")``.
    inputs : (what, path) of every file it reads, e.g. ``("the report REPORT", "r.xlsx")``; missing
        ones are skipped.

    Raises
    ------
    OverwriteRefused
        Naming both, e.g. ``--eml r.xlsx is the report REPORT (r.xlsx): xladdin never writes over a file
        it reads; give --eml another path``.
    """
    outs = [(what, Path(p)) for what, p in outputs if p is not None]
    ins = [(what, Path(p)) for what, p in inputs if p is not None and Path(p).is_file()]
    for i, (what, out) in enumerate(outs):
        for in_what, inp in ins:
            if same_file(out, inp):
                same = "" if str(out) == str(inp) else f" ({inp}, the same file)"
                raise OverwriteRefused(f"{what} {out} is {in_what}{same}: xladdin never writes over a file it reads; "
                                       f"give {what} another path")
        for other_what, other in outs[:i]:
            if same_file(out, other):
                raise OverwriteRefused(f"{what} {out} and {other_what} {other} are the same file: one would "
                                       f"overwrite the other; give {what} another path")


# ------------------------------------------------------------------------------------- read-only
def read_only_reason(path: Path) -> str | None:
    """Why ``path`` (an existing file or folder) must not be written, or None when it may be.

    A path is read-only when this user may not write it (``os.access``; also true on a read-only file
    system), or when it has no write bit at all (``chmod a-w``, Windows' *Read-only* attribute) -- the
    owner's intent is respected even where the permissions would be overridden (root). Windows ignores
    the *Read-only* attribute of folders (Explorer sets it on Documents, Desktop ...), so there a folder
    is judged by ``os.access`` only.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    kind = "folder" if stat.S_ISDIR(mode) else "file"
    no_write_bit = not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    if no_write_bit and not (kind == "folder" and os.name == "nt"):
        return f"the {kind} {path} is read-only (mode {stat.S_IMODE(mode):04o})"
    if not os.access(path, os.W_OK):
        return f"the {kind} {path} is not writable by this user (or on a read-only file system)"
    return None


# ------------------------------------------------------------------------------------- locks
class LockBusy(RuntimeError):
    """``lock`` is held by a live owner; ``owner`` holds its pid, host and start time."""

    def __init__(self, lock: Path, owner: dict):
        self.lock = Path(lock)
        self.owner = dict(owner)
        hint = "" if owner else f"; if no xladdin command is running, delete the stale lock {self.lock}"
        super().__init__(f"in use by {describe_owner(owner)} (lock file {self.lock}){hint}")


def describe_owner(owner: dict) -> str:
    """``process 123 on host since 2026-10-30 09:15:02`` from a lock's content (``an unknown process``
    when the lock holds no owner record)."""
    if not owner:
        return "an unknown process (the lock file holds no owner record)"
    if "invalid" in owner:
        return f"no xladdin process (the lock file holds {owner['invalid']})"
    host = owner.get("host") or "?"
    return f"process {owner.get('pid', '?')} on {host} since {owner.get('started', '?')}"


def _read_lock(lock: Path) -> tuple[dict | None, float] | None:
    """(owner, mtime) of ``lock``; None when it does not exist.

    ``owner`` is the lock's record; None when the lock is empty or a cut JSON object (being written
    right now, or left half-written by a kill); ``{"invalid": why}`` when it cannot be an owner's record
    at all (not UTF-8 JSON text, not an object, a ``pid`` that no system hands out): no live xladdin
    process holds such a lock.
    """
    try:
        mtime = lock.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        data = lock.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:  # a folder or an unreadable file in the lock's place
        data = b""
    try:
        owner = json.loads(data.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        cut = data.strip() == b"" or data.lstrip().startswith(b"{")
        return (None if cut else {"invalid": "no JSON owner record"}), mtime
    if not isinstance(owner, dict):
        return {"invalid": "no JSON owner record"}, mtime
    if not (type(owner.get("pid")) is int and 0 < owner["pid"] <= MAX_PID):
        return {"invalid": f"the process id {str(owner.get('pid'))[:40]}, which no process can have"}, mtime
    return owner, mtime


def _is_stale(owner: dict | None, mtime: float) -> bool:
    age = time.time() - mtime
    if owner is None:  # being written right now, or left half-written by a kill
        return age > 60
    if "invalid" in owner or age > STALE_AFTER:
        return True
    pid = owner.get("pid")
    if owner.get("host_tag") == host_tag() and isinstance(pid, int):
        if pid == os.getpid():  # ours only if this process holds it now; else an earlier process with our pid
            return owner.get("token") not in _HELD
        return not pid_alive(pid)
    return False


def _took_over(lock: Path, owner: dict | None) -> str:
    """The notice for a stale lock taken over."""
    if owner and "invalid" in owner:
        return f"took over the stale lock {lock.name}: it holds {owner['invalid']}, so no live xladdin process holds it"
    who = describe_owner(owner) if owner else "a process killed while taking it"
    return f"took over the stale lock {lock.name} left by {who}, which is gone"


def _take_over(lock: Path, seen: tuple[dict | None, float]) -> bool:
    """Remove a stale ``lock`` if it is still the one judged stale; True when removed."""
    aside = lock.with_name(f"{lock.name}.stale-{owner_tag()}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return False
    if _read_lock(aside) == seen:  # a rename keeps the content and the modification time
        remove(aside)
        return True
    # another process replaced the stale lock in between: put its fresh lock back
    with contextlib.suppress(OSError):
        os.link(aside, lock)
    with contextlib.suppress(OSError):
        aside.unlink()
    return False


def remove_stale_lock(lock: str | Path) -> bool:
    """Remove ``lock`` when no live process holds it (the rules of :func:`owner_lock`); True when removed."""
    lock = Path(lock)
    seen = _read_lock(lock)
    return seen is not None and _is_stale(*seen) and _take_over(lock, seen)


@contextlib.contextmanager
def owner_lock(lock: str | Path, wait: float = 0.0, poll: float = 0.2,
               notice: Callable[[str], None] | None = None) -> Iterator[dict]:
    """Hold ``lock`` (created exclusively, holding this process's pid, host and start time).

    Parameters
    ----------
    lock : the lock file (next to what it protects).
    wait : seconds to wait for a live owner to finish; 0 = fail at once.
    poll : seconds between two looks while waiting.
    notice : called with one line when a stale lock (owner gone, or older than :data:`STALE_AFTER`)
        is taken over.

    Yields
    ------
    dict : the owner record written to the lock.

    Raises
    ------
    LockBusy
        Another live process holds the lock (after ``wait`` seconds).
    """
    lock = Path(lock)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "host_tag": host_tag(),
          "started": dt.datetime.now().isoformat(timespec="seconds"), "token": uuid.uuid4().hex}
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            seen = _read_lock(lock)
            if seen is None:
                continue  # released meanwhile
            if _is_stale(*seen):
                if _take_over(lock, seen) and notice is not None:
                    notice(_took_over(lock, seen[0]))
                continue
            # an empty or cut lock younger than WRITE_GRACE is being written by its new owner right now:
            # look again until it is complete, so that the message can name that owner
            writing = seen[0] is None and time.time() - seen[1] < WRITE_GRACE
            if time.monotonic() >= deadline and not writing:
                raise LockBusy(lock, seen[0] or {}) from None
            time.sleep(poll)
            continue
        break
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            lock.unlink()
        raise
    _HELD.add(me["token"])
    try:
        yield me
    finally:
        _HELD.discard(me["token"])
        fileop("unlock", lock)
        seen = _read_lock(lock)
        if seen is not None and seen[0] is not None and seen[0].get("token") == me["token"]:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
