"""errors.py — strata's status codes as exceptions, and damage reports.

Every failing call raises a StrataError subclass whose message is the
library's detailed one (strata_last_error: it names the file and offset) and
whose `damage` lists the regions the call, or the open before it, dropped.
"""
import collections

from . import _ffi

# One dropped region of one file (struct strata_damage). WAL damage also
# fills segment and lost_first/lost_last (None when unknown).
DamageReport = collections.namedtuple(
    "DamageReport", "file offset bytes kind reason records tail segment "
    "lost_first lost_last")
DamageReport.__new__.__defaults__ = (None, None, None)


class StrataError(Exception):
    """A failed strata call. `code` is the STRATA_* status, `message` the
    library's detail, `damage` a list of DamageReport."""

    def __init__(self, code, message, damage=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.damage = list(damage or [])

    def __str__(self):
        return self.message


class NotFoundError(StrataError, KeyError):
    """The key (or file) is absent; a KeyError for mapping access."""

    def __str__(self):  # KeyError would repr() the message
        return self.message


class CorruptionError(StrataError):
    """Damaged bytes that the recovery policy refused (or that a read met):
    nothing damaged was returned. See `damage` and `message`."""


class BusyError(StrataError):
    """Another handle, in this or another process, holds the database."""


class InvalidArgumentError(StrataError, ValueError):
    """The call's arguments were unusable."""


class StrataIOError(StrataError, OSError):
    """The OS failed a call; `errno` is kept."""


class NotSupportedError(StrataError):
    """A format feature strata does not handle."""


_BY_CODE = {
    _ffi.NOT_FOUND: NotFoundError,
    _ffi.CORRUPTION: CorruptionError,
    _ffi.BUSY: BusyError,
    _ffi.INVALID_ARGUMENT: InvalidArgumentError,
    _ffi.IO_ERROR: StrataIOError,
    _ffi.NOT_SUPPORTED: NotSupportedError,
}


def error(code, damage=None, what=None):
    """The exception for status `code`, with the thread's last message."""
    msg = _ffi.lib.strata_last_error().decode("utf-8", "replace")
    if not msg:
        msg = _ffi.lib.strata_strerror(code).decode()
    if what:
        msg = "%s: %s" % (what, msg)
    if code == _ffi.NO_MEMORY:
        return MemoryError(msg)
    cls = _BY_CODE.get(code, StrataError)
    e = cls(code, msg, damage)
    if cls is StrataIOError:
        e.errno = _ffi.lib.strata_last_errno()
    return e


def check(code, damage=None, what=None):
    """Raises for a non-OK status."""
    if code != _ffi.OK:
        raise error(code, damage, what)


def report(d, segment=None, lost=None):
    """A DamageReport from a strata_damage (valid only during a callback)."""
    kind = _ffi.lib.strata_damage_kind_name(d.kind).decode()
    lost_first, lost_last = lost if lost else (None, None)
    return DamageReport(
        (d.file or b"").decode("utf-8", "surrogateescape"), d.offset, d.bytes,
        kind, (d.reason or b"").decode("utf-8", "replace"), d.records,
        bool(d.tail), segment, lost_first, lost_last)


def damage_collector(into):
    """A strata_damage_fn appending DamageReports to the list `into`; keep
    the returned object alive as long as the library may call it."""
    def on_damage(arg, d):
        into.append(report(d.contents))
    return _ffi.DAMAGE_FN(on_damage)


def wal_damage_collector(into):
    """A strata_wal_damage_fn appending DamageReports to `into`."""
    def on_damage(arg, d):
        w = d.contents
        lost = (w.lost_first, w.lost_last) if w.lost_known else None
        into.append(report(w.damage, w.segment, lost))
    return _ffi.WAL_DAMAGE_FN(on_damage)
