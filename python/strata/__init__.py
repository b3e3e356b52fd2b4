"""strata — Python bindings (ctypes, standard library only) for libstrata's
storage engines: the LSM tree (DB), Bitcask, and the write-ahead log (WAL).

    import strata
    with strata.open("db", engine="bitcask") as db:   # created if missing
        db[b"apple"] = b"red"
        print(db[b"apple"], b"apple" in db, list(db.items(b"a", b"b")))

strata.open detects the engine of an existing directory as the strata tool
does (CURRENT -> lsm, *.data -> bitcask, only *.log -> wal). Keys and values
are bytes (str is accepted and encoded as UTF-8). Failures raise StrataError
subclasses carrying the library's message and the damage reports; a missing
key raises NotFoundError, a KeyError. The library is loaded from $STRATA_LIB,
next to this package, the source tree's build/, or the system.
"""
import os

from . import _ffi
from ._util import Batch, decode_batch
from .bitcask import Bitcask
from .errors import (BusyError, CorruptionError, DamageReport,
                     InvalidArgumentError, NotFoundError, NotSupportedError,
                     StrataError, StrataIOError)
from .lsm import DB, Snapshot
from .wal import WAL, WALOp, WALRecord

__version__ = _ffi.version()
library_path = _ffi.path
HAVE_LSM = _ffi.HAVE_LSM

ENGINES = {"lsm": DB, "bitcask": Bitcask, "wal": WAL}


def detect_engine(path):
    """'lsm', 'bitcask' or 'wal' for an existing database directory (from
    its files, as the strata tool does), or None."""
    try:
        names = os.listdir(path)
    except OSError:
        return None
    if "CURRENT" in names:
        return "lsm"
    if any(n.endswith(".data") for n in names):
        return "bitcask"
    if any(n.endswith(".log") for n in names):
        return "wal"
    return None


def open(path, engine=None, **options):  # noqa: A001 - strata.open(path)
    """Opens the database directory `path`: a DB, Bitcask or WAL object by
    its detected engine. A directory that is not yet a database is created
    with `engine` (default 'lsm'). Other keyword arguments go to the class.
    Raises InvalidArgumentError if `engine` contradicts the detected one."""
    detected = detect_engine(path)
    if detected and engine and engine != detected:
        raise InvalidArgumentError(
            _ffi.INVALID_ARGUMENT,
            "%s: is a %s database, not %s" % (path, detected, engine))
    name = detected or engine or "lsm"
    if name not in ENGINES:
        raise ValueError("unknown engine %r (lsm, bitcask or wal)" % name)
    return ENGINES[name](path, **options)


def version():
    """The library's version string."""
    return _ffi.version()


__all__ = ["open", "detect_engine", "DB", "Snapshot", "Bitcask", "WAL",
           "WALOp", "WALRecord", "Batch", "decode_batch", "StrataError",
           "NotFoundError", "CorruptionError", "BusyError",
           "InvalidArgumentError", "StrataIOError", "NotSupportedError",
           "DamageReport", "version", "library_path", "HAVE_LSM"]
