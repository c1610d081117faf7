"""A case-insensitive file system for tests: a FUSE passthrough over a folder that looks names up without case.

Run as ``python tests/_cifs.py BACKING MOUNTPOINT`` (in the foreground; ``fusermount -u MOUNTPOINT`` ends it).
Every path under MOUNTPOINT is resolved in BACKING one component at a time: a name that exists as spelled is
used, else the entry of that folder whose name equals it without case (``str.casefold``), else (a new file or
folder) the name as spelled. So the file system is case-preserving and case-insensitive, as Windows' NTFS and
macOS' APFS are by default: ``WB.xlsm`` and ``wb.XLSM`` open, stat, rename and delete the same file, and a file
created as ``wb.xlsm`` beside ``WB.xlsm`` replaces it. ``use_ino``: both spellings report the backing file's
inode, as those systems do (``os.path.samefile`` is true). The kernel caches no names or attributes
(timeouts 0), so a name created under one spelling is found at once under another.

It stands in for ``ciopfs``, which Debian 12 does not package; it needs libfuse (``fuse3``) and ``mfusepy``.
"""
from __future__ import annotations

import errno
import os
import sys

import mfusepy
from mfusepy import FuseOSError, Operations

#: kernel cache timeouts (seconds): none, so another spelling of a name is looked up again
NO_CACHE = {"entry_timeout": 0, "attr_timeout": 0, "negative_timeout": 0}


class CaseInsensitive(Operations):
    """Passthrough of ``root`` with case-insensitive name lookup (see the module docstring)."""

    use_ns = True

    def __init__(self, root: str):
        self.root = os.path.realpath(root)

    def real(self, path: str) -> str:
        """The backing path of ``path`` (each component matched without case; the existing spelling wins)."""
        cur = self.root
        for part in (p for p in path.split("/") if p):
            here = os.path.join(cur, part)
            if not os.path.lexists(here):
                try:
                    names = sorted(os.listdir(cur))
                except OSError:
                    names = []
                same = [n for n in names if n.casefold() == part.casefold()]
                if same:
                    here = os.path.join(cur, same[0])
            cur = here
        return cur

    # ------------------------------------------------------------------ metadata
    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else os.lstat(self.real(path))
        keys = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks", "st_blksize")
        out = {k: getattr(st, k) for k in keys}
        out.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return out

    def access(self, path, amode):
        if not os.access(self.real(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    def chmod(self, path, mode):
        os.chmod(self.real(path), mode)
        return 0

    def chown(self, path, uid, gid):
        os.lchown(self.real(path), uid, gid)
        return 0

    def utimens(self, path, times=None):
        os.utime(self.real(path), ns=times, follow_symlinks=False)
        return 0

    def statfs(self, path):
        sv = os.statvfs(self.real(path))
        return {k: getattr(sv, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                                            "f_files", "f_flag", "f_frsize", "f_namemax")}

    # ------------------------------------------------------------------ names
    def readdir(self, path, fh):
        folder = self.real(path)
        entries = [(".", folder), ("..", os.path.dirname(folder)), *((n, os.path.join(folder, n))
                                                                    for n in os.listdir(folder))]
        return [(name, {"st_mode": st.st_mode, "st_ino": st.st_ino}, 0)  # use_ino: an entry of inode 0 is not listed
                for name, st in ((name, os.lstat(p)) for name, p in entries)]

    def readlink(self, path):
        return os.readlink(self.real(path))

    def mkdir(self, path, mode):
        os.mkdir(self.real(path), mode)
        return 0

    def rmdir(self, path):
        os.rmdir(self.real(path))
        return 0

    def unlink(self, path):
        os.unlink(self.real(path))
        return 0

    def symlink(self, target, source):  # mfusepy: create the link `target` holding `source`
        os.symlink(source, self.real(target))
        return 0

    def link(self, target, source):  # mfusepy: create the hard link `target` of the file `source`
        os.link(self.real(source), self.real(target))
        return 0

    def rename(self, old, new):
        src, dst = self.real(old), self.real(new)
        if dst == src:  # another spelling of the same name: the new spelling is kept (a case change)
            dst = os.path.join(os.path.dirname(src), os.path.basename(new))
        os.rename(src, dst)
        return 0

    # ------------------------------------------------------------------ contents
    def open(self, path, flags):
        return os.open(self.real(path), flags)

    def create(self, path, mode, flags):
        return os.open(self.real(path), flags | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self.real(path), length)
        return 0

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        (os.fdatasync if datasync else os.fsync)(fh)
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0


if __name__ == "__main__":
    backing, mountpoint = sys.argv[1], sys.argv[2]
    mfusepy.FUSE(CaseInsensitive(backing), mountpoint, foreground=True, use_ino=True, fsname="xladdin-cifs",
                 **NO_CACHE)
