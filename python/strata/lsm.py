"""lsm.py — the LSM-tree engine (strata_db_*): a LevelDB 1.23-compatible
database directory with ordered keys, atomic batches, snapshots and
iterators."""
import ctypes
import os
import weakref

from . import _ffi
from ._util import BatchContext, MappingMixin, as_bytes, opt_bytes
from .errors import check, damage_collector

COMPRESSION = {"none": 0, "snappy": 1, "zstd": 2}
COMPACTION = {"leveled": 0, "size-tiered": 1}


def _need_lsm():
    if not _ffi.HAVE_LSM:
        raise NotImplementedError(
            "this libstrata (%s) has no LSM engine yet" % _ffi.path)


class Snapshot:
    """A consistent read view (strata_db_get_snapshot); `with` releases it.
    get()/items() read as of it."""

    def __init__(self, db):
        self._db = db
        self._s = _ffi.lib.strata_db_get_snapshot(db._handle())
        if not self._s:
            raise MemoryError("strata_db_get_snapshot")
        db._snapshots.add(self)

    @property
    def sequence(self):
        return _ffi.lib.strata_snapshot_sequence(self._s)

    def get(self, key, default=None):
        return self._db.get(key, default, snapshot=self)

    def __getitem__(self, key):
        return self._db._get(key, snapshot=self)

    def items(self, start=None, stop=None, reverse=False):
        return self._db.items(start, stop, reverse, snapshot=self)

    def release(self):
        if self._s:
            s, self._s = self._s, None
            self._db._snapshots.discard(self)
            if self._db._db is not None:
                _ffi.lib.strata_db_release_snapshot(self._db._db, s)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False


class _Iter:
    """An open strata_iterator; destroyed when done or when the DB closes."""

    def __init__(self, db, snapshot):
        self.db = db
        ro = db._read_options(snapshot)
        it = ctypes.c_void_p()
        check(_ffi.lib.strata_db_iter_create(db._handle(), ctypes.byref(ro),
                                             ctypes.byref(it)))
        self.it = it
        db._iters.add(self)

    def destroy(self):
        if self.it is not None:
            it, self.it = self.it, None
            self.db._iters.discard(self)
            _ffi.lib.strata_iter_destroy(it)

    def key(self):
        n = ctypes.c_size_t()
        p = _ffi.lib.strata_iter_key(self.it, ctypes.byref(n))
        return ctypes.string_at(p, n.value) if n.value else b""

    def value(self):
        n = ctypes.c_size_t()
        p = _ffi.lib.strata_iter_value(self.it, ctypes.byref(n))
        return ctypes.string_at(p, n.value) if n.value else b""


class DB(MappingMixin):
    """An LSM database directory (created unless create=False). Mapping
    access, put/get/delete, batch(), items(start, stop, reverse) streamed in
    key order, snapshot(), compact(), flush(), property(), stats().
    `damage` lists every region dropped at open, or met by reads and
    compactions since."""

    def __init__(self, path, create=True, error_if_exists=False,
                 paranoid_checks=False, recovery="point-in-time",
                 compression="snappy", compaction_style="leveled",
                 write_buffer_size=None, block_cache_size=None, sync=False,
                 **options):
        _need_lsm()
        self._db = None
        self.path = path
        self.damage = []
        self._iters = weakref.WeakSet()
        self._snapshots = weakref.WeakSet()
        o = _ffi.Options()
        _ffi.lib.strata_options_init(ctypes.byref(o))
        o.create_if_missing = int(bool(create))
        o.error_if_exists = int(bool(error_if_exists))
        o.paranoid_checks = int(bool(paranoid_checks))
        o.recovery = _ffi.RECOVERY[recovery]
        o.compression = COMPRESSION[compression]
        o.compaction_style = COMPACTION[compaction_style]
        if write_buffer_size is not None:
            o.write_buffer_size = write_buffer_size
        if block_cache_size is not None:
            o.block_cache_size = block_cache_size
        for name, value in options.items():  # any other strata_options field
            setattr(o, name, value)
        self._on_damage = damage_collector(self.damage)
        o.on_damage = self._on_damage
        self._wo = _ffi.WriteOptions()
        _ffi.lib.strata_write_options_init(ctypes.byref(self._wo))
        self._wo.sync = int(bool(sync))
        db = ctypes.c_void_p()
        rc = _ffi.lib.strata_db_open(os.fsencode(path), ctypes.byref(o),
                                     ctypes.byref(db))
        check(rc, self.damage)
        self._db = db

    def _handle(self):
        if self._db is None:
            raise ValueError("operation on a closed DB")
        return self._db

    def close(self):
        """Destroys open iterators, releases snapshots, closes."""
        if self._db is None:
            return
        for it in list(self._iters):
            it.destroy()
        for s in list(self._snapshots):
            s.release()
        db, self._db = self._db, None
        check(_ffi.lib.strata_db_close(db))

    def _read_options(self, snapshot=None):
        ro = _ffi.ReadOptions()
        _ffi.lib.strata_read_options_init(ctypes.byref(ro))
        if snapshot is not None:
            if not snapshot._s:
                raise ValueError("snapshot already released")
            ro.snapshot = snapshot._s
        return ro

    def put(self, key, value):
        k, v = as_bytes(key), as_bytes(value, "value")
        check(_ffi.lib.strata_db_put(self._handle(), ctypes.byref(self._wo),
                                     k, len(k), v, len(v)))

    def delete(self, key):
        k = as_bytes(key)
        check(_ffi.lib.strata_db_delete(self._handle(),
                                        ctypes.byref(self._wo), k, len(k)))

    def write(self, batch):
        """Applies a Batch atomically."""
        check(_ffi.lib.strata_db_write(self._handle(), ctypes.byref(self._wo),
                                       batch._b))

    def batch(self):
        """`with db.batch() as b:` — one atomic write when the block ends."""
        return BatchContext(self.write)

    def _get(self, key, snapshot=None):
        k = as_bytes(key)
        ro = self._read_options(snapshot)
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        rc = _ffi.lib.strata_db_get(self._handle(), ctypes.byref(ro), k,
                                    len(k), ctypes.byref(p), ctypes.byref(n))
        if rc == _ffi.NOT_FOUND:
            raise self._not_found(key)
        check(rc, self.damage)
        return _ffi.take_bytes(p, n.value)

    def get(self, key, default=None, snapshot=None):
        from .errors import NotFoundError
        try:
            return self._get(key, snapshot)
        except NotFoundError:
            return default

    def snapshot(self):
        """A Snapshot of now; release it (or use `with`)."""
        return Snapshot(self)

    def items(self, start=None, stop=None, reverse=False, snapshot=None):
        """(key, value) pairs with start <= key < stop, streamed in key order
        (descending with reverse). Raises CorruptionError if a damaged block
        stops the iteration."""
        it = _Iter(self, snapshot)
        lo = as_bytes(start) if start is not None else None
        hi = as_bytes(stop) if stop is not None else None
        return self._walk(it, lo, hi, reverse)

    def _walk(self, it, lo, hi, reverse):
        lib = _ffi.lib
        try:
            if not reverse:
                if lo is None:
                    lib.strata_iter_seek_first(it.it)
                else:
                    lib.strata_iter_seek(it.it, lo, len(lo))
            elif hi is None:
                lib.strata_iter_seek_last(it.it)
            else:
                lib.strata_iter_seek(it.it, hi, len(hi))
                if lib.strata_iter_valid(it.it):
                    lib.strata_iter_prev(it.it)  # last key < hi
                else:
                    lib.strata_iter_seek_last(it.it)
            while it.it is not None and lib.strata_iter_valid(it.it):
                k = it.key()
                if not reverse and hi is not None and k >= hi:
                    break
                if reverse and lo is not None and k < lo:
                    break
                if reverse and hi is not None and k >= hi:
                    lib.strata_iter_prev(it.it)
                    continue
                yield k, it.value()
                if it.it is None:
                    raise ValueError("the DB was closed during iteration")
                (lib.strata_iter_prev if reverse else lib.strata_iter_next)(
                    it.it)
            if it.it is not None:
                check(lib.strata_iter_status(it.it), self.damage)
        finally:
            it.destroy()

    def compact(self, start=None, stop=None):
        """Compacts keys in [start, stop] (None: unbounded) down the levels."""
        b, bl = opt_bytes(start)
        e, el = opt_bytes(stop)
        check(_ffi.lib.strata_db_compact_range(self._handle(), b, bl, e, el))

    def flush(self):
        """Writes the memtable to a table now."""
        check(_ffi.lib.strata_db_flush(self._handle()))

    def property(self, name):
        """A property as text ("strata.stats", ...), or None if unknown."""
        p = _ffi.lib.strata_db_get_property(self._handle(), name.encode())
        if not p:
            return None
        return _ffi.take_bytes(p, len(ctypes.string_at(p))).decode()

    def approximate_size(self, start, stop):
        s, sl = opt_bytes(start)
        e, el = opt_bytes(stop)
        n = ctypes.c_uint64()
        check(_ffi.lib.strata_db_approximate_size(self._handle(), s, sl, e,
                                                  el, ctypes.byref(n)))
        return n.value

    def stats(self):
        st = _ffi.DbStats()
        check(_ffi.lib.strata_db_get_stats(self._handle(), ctypes.byref(st)))
        out = {}
        for name, _ in st._fields_:
            v = getattr(st, name)
            out[name] = list(v) if name in ("files", "level_bytes") else v
        return out

    def __repr__(self):
        state = "closed" if self._db is None else "open"
        return "<strata.DB %r (%s)>" % (self.path, state)


def destroy(path):
    """Removes the LSM database in `path`."""
    _need_lsm()
    check(_ffi.lib.strata_db_destroy(os.fsencode(path)))


def verify(path):
    """Checks the LSM database in `path` without changing it; returns the
    list of DamageReport (empty when clean)."""
    _need_lsm()
    damage = []
    fn = damage_collector(damage)
    rc = _ffi.lib.strata_db_verify(os.fsencode(path), fn, None)
    if rc not in (_ffi.OK, _ffi.CORRUPTION):
        check(rc, damage)
    return damage
