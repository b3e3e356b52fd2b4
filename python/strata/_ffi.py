"""_ffi.py — loads libstrata with ctypes and declares the C API it uses.

The library is found, in order, at $STRATA_LIB (a path), next to this package
(libstrata.so*), in the build/ directory of the source tree this package sits
in (python/strata -> ../../build), then wherever the dynamic linker finds
libstrata.so.0 (an installed copy). Structures mirror include/strata.h field
for field; tests/test_ffi.py checks their sizes against the C compiler's.
"""
import ctypes
import ctypes.util
import glob
import os

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int,
                    c_size_t, c_uint32, c_uint64, c_void_p)

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("STRATA_LIB")
    if env:
        yield env
        return
    for path in sorted(glob.glob(os.path.join(_HERE, "libstrata.so*"))):
        yield path
    root = os.path.dirname(os.path.dirname(_HERE))
    yield os.path.join(root, "build", "libstrata.so")
    yield "libstrata.so.0"
    found = ctypes.util.find_library("strata")
    if found:
        yield found
    for d in ("/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu"):
        yield os.path.join(d, "libstrata.so.0")


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("strata: cannot load libstrata.so; set STRATA_LIB to "
                      "its path or run make (tried: %s)" % "; ".join(tried))


lib, path = _load()
libc = ctypes.CDLL(None)
libc.free.argtypes = [c_void_p]
libc.free.restype = None

# ---- status codes and names ---------------------------------------------
OK, NOT_FOUND, CORRUPTION, IO_ERROR, INVALID_ARGUMENT, BUSY, NO_MEMORY, \
    NOT_SUPPORTED, END = range(9)
OP_DELETE, OP_PUT = 0, 1
RECOVERY = {"absolute": 0, "tolerate-tail": 1, "point-in-time": 2, "skip": 3}


class Damage(Structure):
    """struct strata_damage."""
    _fields_ = [("file", c_char_p), ("offset", c_uint64), ("bytes", c_uint64),
                ("kind", c_int), ("reason", c_char_p), ("records", c_uint64),
                ("tail", c_int)]


DAMAGE_FN = CFUNCTYPE(None, c_void_p, POINTER(Damage))


class WalDamage(Structure):
    """struct strata_wal_damage."""
    _fields_ = [("damage", Damage), ("segment", c_uint64),
                ("lost_known", c_int), ("lost_first", c_uint64),
                ("lost_last", c_uint64)]


WAL_DAMAGE_FN = CFUNCTYPE(None, c_void_p, POINTER(WalDamage))


class BitcaskOptions(Structure):
    """struct strata_bitcask_options."""
    _fields_ = [("recovery", c_int), ("create_if_missing", c_int),
                ("sync", c_int), ("sync_interval_ms", c_uint32),
                ("sync_interval_bytes", c_uint64),
                ("max_file_size", c_uint64),
                ("merge_dead_fraction", c_double),
                ("merge_max_files", c_uint32), ("background_merge", c_int),
                ("read_only", c_int), ("on_damage", DAMAGE_FN),
                ("damage_arg", c_void_p)]


class BitcaskStats(Structure):
    """struct strata_bitcask_stats."""
    _fields_ = [(n, c_uint64) for n in (
        "keys", "tombstones", "files", "data_bytes", "dead_bytes",
        "keydir_bytes", "preads", "merges", "hint_files", "scanned_files",
        "dropped_bytes", "drops", "lost_keys", "rotation_hints",
        "interval_syncs")]


class WalOptions(Structure):
    """struct strata_wal_options."""
    _fields_ = [("segment_size", c_uint64), ("sync", c_int),
                ("sync_interval_ms", c_uint32),
                ("sync_interval_bytes", c_uint64), ("recovery", c_int),
                ("on_damage", WAL_DAMAGE_FN), ("damage_arg", c_void_p)]


class WalRecord(Structure):
    """struct strata_wal_record."""
    _fields_ = [("segment", c_uint64), ("offset", c_uint64), ("end", c_uint64),
                ("sequence", c_uint64), ("count", c_uint32),
                ("data", c_void_p), ("size", c_size_t)]


class Options(Structure):
    """struct strata_options (the LSM engine)."""
    _fields_ = [("create_if_missing", c_int), ("error_if_exists", c_int),
                ("paranoid_checks", c_int), ("write_buffer_size", c_size_t),
                ("max_open_files", c_int), ("block_size", c_size_t),
                ("block_restart_interval", c_int),
                ("max_file_size", c_size_t), ("block_cache_size", c_size_t),
                ("bloom_bits_per_key", c_int), ("compression", c_int),
                ("compaction_style", c_int), ("recovery", c_int),
                ("write_info_log", c_int), ("on_damage", DAMAGE_FN),
                ("damage_arg", c_void_p)]


class ReadOptions(Structure):
    """struct strata_read_options."""
    _fields_ = [("verify_checksums", c_int), ("fill_cache", c_int),
                ("snapshot", c_void_p)]


class WriteOptions(Structure):
    """struct strata_write_options."""
    _fields_ = [("sync", c_int)]


class DbStats(Structure):
    """struct strata_db_stats."""
    _fields_ = [("files", c_uint64 * 7), ("level_bytes", c_uint64 * 7)] + [
        (n, c_uint64) for n in (
            "sequence", "memtable_bytes", "flushes", "compactions",
            "bytes_flushed", "bytes_compacted", "bytes_read_compaction",
            "wal_bytes", "user_bytes", "stall_micros", "slowdowns", "stops",
            "wal_syncs", "group_commits", "damage_regions", "dropped_bytes")]


KV_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
LOST_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t, c_char_p, c_uint64,
                    c_uint64)
BATCH_OP_FN = CFUNCTYPE(c_int, c_void_p, c_int, c_void_p, c_size_t, c_void_p,
                        c_size_t)
WAL_OP_FN = CFUNCTYPE(c_int, c_void_p, c_uint64, c_int, c_void_p, c_size_t,
                      c_void_p, c_size_t)
WAL_RECORD_FN = CFUNCTYPE(c_int, c_void_p, POINTER(WalRecord))

P = c_void_p  # an opaque handle
B = c_char_p  # bytes in (with a separate length)
SZ = c_size_t
U64 = c_uint64
PP = POINTER(c_void_p)
PSZ = POINTER(c_size_t)
PU64 = POINTER(c_uint64)

_PROTOTYPES = {
    "strata_strerror": (c_char_p, [c_int]),
    "strata_last_error": (c_char_p, []),
    "strata_last_errno": (c_int, []),
    "strata_version": (c_char_p, []),
    "strata_damage_kind_name": (c_char_p, [c_int]),
    # batches
    "strata_batch_create": (P, []),
    "strata_batch_destroy": (None, [P]),
    "strata_batch_clear": (None, [P]),
    "strata_batch_put": (c_int, [P, B, SZ, B, SZ]),
    "strata_batch_delete": (c_int, [P, B, SZ]),
    "strata_batch_set_sequence": (None, [P, U64]),
    "strata_batch_sequence": (U64, [P]),
    "strata_batch_count": (c_uint32, [P]),
    "strata_batch_data": (c_void_p, [P, PSZ]),
    "strata_batch_decode": (c_int, [B, SZ, PU64, POINTER(c_uint32),
                                    BATCH_OP_FN, P]),
    # bitcask
    "strata_bitcask_options_init": (None, [POINTER(BitcaskOptions)]),
    "strata_bitcask_open": (c_int, [B, POINTER(BitcaskOptions), PP]),
    "strata_bitcask_close": (c_int, [P]),
    "strata_bitcask_put": (c_int, [P, B, SZ, B, SZ]),
    "strata_bitcask_put_expiring": (c_int, [P, B, SZ, B, SZ, U64]),
    "strata_bitcask_get": (c_int, [P, B, SZ, PP, PSZ]),
    "strata_bitcask_delete": (c_int, [P, B, SZ]),
    "strata_bitcask_write": (c_int, [P, P]),
    "strata_bitcask_fold": (c_int, [P, KV_FN, P]),
    "strata_bitcask_scan": (c_int, [P, B, SZ, B, SZ, c_int, U64, KV_FN, P]),
    "strata_bitcask_sync": (c_int, [P]),
    "strata_bitcask_merge": (c_int, [P]),
    "strata_bitcask_get_stats": (c_int, [P, POINTER(BitcaskStats)]),
    "strata_bitcask_lost_keys": (SZ, [P, LOST_FN, P]),
    # wal
    "strata_wal_options_init": (None, [POINTER(WalOptions)]),
    "strata_wal_open": (c_int, [B, POINTER(WalOptions), PP]),
    "strata_wal_close": (c_int, [P]),
    "strata_wal_append": (c_int, [P, P, PU64]),
    "strata_wal_sync": (c_int, [P]),
    "strata_wal_last_sequence": (U64, [P]),
    "strata_wal_checkpoint": (c_int, [P, U64]),
    "strata_wal_checkpointed": (U64, [P]),
    "strata_wal_truncate_front": (c_int, [P, U64]),
    "strata_wal_truncate_back": (c_int, [P, U64]),
    "strata_wal_replay": (c_int, [P, U64, WAL_OP_FN, P]),
    "strata_wal_iterate": (c_int, [P, WAL_RECORD_FN, P]),
    "strata_wal_verify": (c_int, [B, WAL_DAMAGE_FN, P, PU64]),
}

# The LSM engine: declared in the header; present once it is implemented.
_LSM_PROTOTYPES = {
    "strata_options_init": (None, [POINTER(Options)]),
    "strata_read_options_init": (None, [POINTER(ReadOptions)]),
    "strata_write_options_init": (None, [POINTER(WriteOptions)]),
    "strata_db_open": (c_int, [B, POINTER(Options), PP]),
    "strata_db_close": (c_int, [P]),
    "strata_db_destroy": (c_int, [B]),
    "strata_db_put": (c_int, [P, POINTER(WriteOptions), B, SZ, B, SZ]),
    "strata_db_delete": (c_int, [P, POINTER(WriteOptions), B, SZ]),
    "strata_db_write": (c_int, [P, POINTER(WriteOptions), P]),
    "strata_db_get": (c_int, [P, POINTER(ReadOptions), B, SZ, PP, PSZ]),
    "strata_db_get_snapshot": (P, [P]),
    "strata_db_release_snapshot": (None, [P, P]),
    "strata_snapshot_sequence": (U64, [P]),
    "strata_db_iter_create": (c_int, [P, POINTER(ReadOptions), PP]),
    "strata_iter_destroy": (None, [P]),
    "strata_iter_seek_first": (None, [P]),
    "strata_iter_seek_last": (None, [P]),
    "strata_iter_seek": (None, [P, B, SZ]),
    "strata_iter_next": (None, [P]),
    "strata_iter_prev": (None, [P]),
    "strata_iter_valid": (c_int, [P]),
    "strata_iter_key": (c_void_p, [P, PSZ]),
    "strata_iter_value": (c_void_p, [P, PSZ]),
    "strata_iter_status": (c_int, [P]),
    "strata_db_compact_range": (c_int, [P, B, SZ, B, SZ]),
    "strata_db_flush": (c_int, [P]),
    "strata_db_get_property": (c_void_p, [P, c_char_p]),
    "strata_db_approximate_size": (c_int, [P, B, SZ, B, SZ, PU64]),
    "strata_db_get_stats": (c_int, [P, POINTER(DbStats)]),
    "strata_db_verify": (c_int, [B, DAMAGE_FN, P]),
}


def _declare(protos):
    ok = True
    for name, (res, args) in protos.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            ok = False
            continue
        fn.restype = res
        fn.argtypes = args
    return ok


_declare(_PROTOTYPES)
HAVE_LSM = _declare(_LSM_PROTOTYPES)


def take_bytes(ptr, size):
    """Copies `size` bytes at a malloc'd `ptr` (a c_void_p) and frees it."""
    try:
        return ctypes.string_at(ptr, size) if size else b""
    finally:
        libc.free(ptr)


def version():
    return lib.strata_version().decode()
