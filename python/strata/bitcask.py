"""bitcask.py — the Bitcask engine (strata_bitcask_*): a hash index in
memory over append-only data files. Point reads are one disk read; ordered
iteration sorts the keys in memory first."""
import ctypes
import os

from . import _ffi
from ._util import (BatchContext, CallbackError, MappingMixin, as_bytes,
                    opt_bytes)
from .errors import check, damage_collector, error

SYNC = {"none": 0, "always": 1, "interval": 2}


class Bitcask(MappingMixin):
    """A Bitcask directory. Mapping access (db[b'k'], del db[b'k'], in,
    iteration in key order) plus put/get/delete, batch(), items(start,
    stop), sync(), merge(), stats(), lost_keys(). `damage` lists what open
    dropped (DamageReport). Close it, or use it in a with block."""

    def __init__(self, path, create=True, recovery="skip", sync="none",
                 read_only=False, max_file_size=None, background_merge=True,
                 sync_interval_ms=None):
        self._db = None
        self.path = path
        self.damage = []
        o = _ffi.BitcaskOptions()
        _ffi.lib.strata_bitcask_options_init(ctypes.byref(o))
        o.recovery = _ffi.RECOVERY[recovery]
        o.create_if_missing = int(bool(create))
        o.sync = SYNC[sync]
        o.read_only = int(bool(read_only))
        o.background_merge = int(bool(background_merge))
        if max_file_size is not None:
            o.max_file_size = max_file_size
        if sync_interval_ms is not None:
            o.sync_interval_ms = sync_interval_ms
        # the library may call on_damage while the handle lives
        self._on_damage = damage_collector(self.damage)
        o.on_damage = self._on_damage
        db = ctypes.c_void_p()
        rc = _ffi.lib.strata_bitcask_open(os.fsencode(path), ctypes.byref(o),
                                          ctypes.byref(db))
        check(rc, self.damage)
        self._db = db

    def _handle(self):
        if self._db is None:
            raise ValueError("operation on a closed Bitcask store")
        return self._db

    def close(self):
        if self._db is not None:
            db, self._db = self._db, None
            check(_ffi.lib.strata_bitcask_close(db))

    def put(self, key, value, expiry=0):
        """Stores value under key; `expiry` is a unix time after which the key
        reads as absent (0: never)."""
        k, v = as_bytes(key), as_bytes(value, "value")
        if expiry:
            rc = _ffi.lib.strata_bitcask_put_expiring(
                self._handle(), k, len(k), v, len(v), expiry)
        else:
            rc = _ffi.lib.strata_bitcask_put(self._handle(), k, len(k), v,
                                             len(v))
        check(rc)

    def _get(self, key):
        k = as_bytes(key)
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        rc = _ffi.lib.strata_bitcask_get(self._handle(), k, len(k),
                                         ctypes.byref(p), ctypes.byref(n))
        if rc == _ffi.NOT_FOUND:
            raise self._not_found(key)
        check(rc)
        return _ffi.take_bytes(p, n.value)

    def delete(self, key):
        """Deletes key (no error if absent)."""
        k = as_bytes(key)
        check(_ffi.lib.strata_bitcask_delete(self._handle(), k, len(k)))

    def write(self, batch):
        """Applies a Batch atomically."""
        check(_ffi.lib.strata_bitcask_write(self._handle(), batch._b))

    def batch(self):
        """`with db.batch() as b: b.put(k, v); b.delete(k)` — one atomic
        write when the block ends."""
        return BatchContext(self.write)

    def items(self, start=None, stop=None, reverse=False, limit=0):
        """(key, value) pairs with start <= key < stop in key order (None:
        unbounded). The matching entries are read before the first is
        returned."""
        out = []
        cb = CallbackError()

        def on_kv(arg, k, kl, v, vl):
            out.append((ctypes.string_at(k, kl) if kl else b"",
                        ctypes.string_at(v, vl) if vl else b""))

        fn = _ffi.KV_FN(cb.guard(on_kv))
        f, fl = opt_bytes(start)
        t, tl = opt_bytes(stop)
        rc = _ffi.lib.strata_bitcask_scan(self._handle(), f, fl, t, tl,
                                          int(bool(reverse)), limit, fn, None)
        cb.reraise()
        check(rc)
        return iter(out)

    def __len__(self):
        return self.stats()["keys"]

    def sync(self):
        """Makes every write so far durable."""
        check(_ffi.lib.strata_bitcask_sync(self._handle()))

    def merge(self):
        """Rewrites the live entries of the older data files (compaction)."""
        check(_ffi.lib.strata_bitcask_merge(self._handle()))

    compact = merge

    def stats(self):
        """The store's counters as a dict (keys, files, data_bytes, ...)."""
        st = _ffi.BitcaskStats()
        check(_ffi.lib.strata_bitcask_get_stats(self._handle(),
                                                ctypes.byref(st)))
        return {name: getattr(st, name) for name, _ in st._fields_}

    def lost_keys(self):
        """[(key, file, offset, timestamp)] for keys whose newest record was
        found damaged at open: their value, if any, is an older one."""
        out = []

        def on_lost(arg, k, kl, file, offset, ts):
            out.append((ctypes.string_at(k, kl) if kl else b"",
                        file.decode("utf-8", "surrogateescape"), offset, ts))

        fn = _ffi.LOST_FN(on_lost)
        _ffi.lib.strata_bitcask_lost_keys(self._handle(), fn, None)
        return out

    def __repr__(self):
        state = "closed" if self._db is None else "open"
        return "<strata.Bitcask %r (%s)>" % (self.path, state)


__all__ = ["Bitcask", "error"]
