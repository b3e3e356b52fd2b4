"""_util.py — what the store classes share: key conversion, batches, the
mapping protocol over get/put/delete/items."""
import sys

from . import _ffi
from .errors import check


def as_bytes(x, what="key"):
    """Keys and values are bytes; str is encoded as UTF-8."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise TypeError("%s must be bytes (or str), not %s"
                    % (what, type(x).__name__))


def opt_bytes(x):
    """(pointer, length) for an optional bound: None is unbounded."""
    if x is None:
        return None, 0
    b = as_bytes(x)
    return b, len(b)


class Batch:
    """A write batch (strata_batch): operations applied atomically by
    write()/append(). Usable as a context manager from a store's batch()."""

    def __init__(self):
        self._sequence = 0
        self._b = _ffi.lib.strata_batch_create()
        if not self._b:
            raise MemoryError("strata_batch_create")

    def put(self, key, value):
        k, v = as_bytes(key), as_bytes(value, "value")
        check(_ffi.lib.strata_batch_put(self._b, k, len(k), v, len(v)))
        return self

    def delete(self, key):
        k = as_bytes(key)
        check(_ffi.lib.strata_batch_delete(self._b, k, len(k)))
        return self

    def clear(self):
        _ffi.lib.strata_batch_clear(self._b)

    def __len__(self):
        return _ffi.lib.strata_batch_count(self._b)

    @property
    def sequence(self):
        """The first sequence number (set by WAL.append)."""
        if not self._b:
            return self._sequence
        return _ffi.lib.strata_batch_sequence(self._b)

    def data(self):
        """The encoded record (LevelDB's WriteBatch format)."""
        n = _ffi.c_size_t()
        p = _ffi.lib.strata_batch_data(self._b, _ffi.ctypes.byref(n))
        return _ffi.ctypes.string_at(p, n.value) if n.value else b""

    def close(self):
        if self._b:
            self._sequence = _ffi.lib.strata_batch_sequence(self._b)
            _ffi.lib.strata_batch_destroy(self._b)
            self._b = None

    def __del__(self):
        self.close()


def decode_batch(record):
    """Decodes an encoded batch: (sequence, [(op, key, value), ...]) with op
    'put' or 'del' (value None). Raises CorruptionError if malformed."""
    ops = []

    def on_op(arg, op, k, kl, v, vl):
        key = _ffi.ctypes.string_at(k, kl) if kl else b""
        if op == _ffi.OP_PUT:
            ops.append(("put", key, _ffi.ctypes.string_at(v, vl) if vl else b""))
        else:
            ops.append(("del", key, None))
        return 0

    fn = _ffi.BATCH_OP_FN(on_op)
    seq = _ffi.c_uint64()
    count = _ffi.ctypes.c_uint32()
    rec = as_bytes(record, "record")
    check(_ffi.lib.strata_batch_decode(rec, len(rec), _ffi.ctypes.byref(seq),
                                       _ffi.ctypes.byref(count), fn, None))
    return seq.value, ops


class CallbackError:
    """Carries an exception raised inside a C callback out to the caller."""

    def __init__(self):
        self.exc = None

    def guard(self, fn):
        def wrapped(*args):
            try:
                r = fn(*args)
                return 0 if r is None else r
            except BaseException:  # noqa: B902 - re-raised by the caller
                self.exc = sys.exc_info()[1]
                return 1
        return wrapped

    def reraise(self):
        if self.exc is not None:
            e, self.exc = self.exc, None
            raise e


class MappingMixin:
    """dict-like access over get()/put()/delete()/items(): db[k], db[k] = v,
    del db[k], k in db, iteration over keys, len(db), update()."""

    def __getitem__(self, key):
        return self._get(key)  # raises NotFoundError (a KeyError)

    def __setitem__(self, key, value):
        self.put(key, value)

    def __delitem__(self, key):
        if key not in self:
            raise self._not_found(key)
        self.delete(key)

    def __contains__(self, key):
        return self.get(key) is not None

    def get(self, key, default=None):
        from .errors import NotFoundError
        try:
            return self._get(key)
        except NotFoundError:
            return default

    def __iter__(self):
        return self.keys()

    def keys(self, start=None, stop=None, reverse=False):
        for k, _ in self.items(start, stop, reverse):
            yield k

    def values(self, start=None, stop=None, reverse=False):
        for _, v in self.items(start, stop, reverse):
            yield v

    def __len__(self):
        return sum(1 for _ in self.items())

    def update(self, other=(), **kw):
        """Writes every pair of `other` (a mapping or pairs) in one atomic
        batch."""
        pairs = other.items() if hasattr(other, "items") else other
        with self.batch() as b:
            for k, v in pairs:
                b.put(k, v)
            for k, v in kw.items():
                b.put(k, v)

    def _not_found(self, key):
        from .errors import NotFoundError
        return NotFoundError(_ffi.NOT_FOUND, repr(key))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class BatchContext:
    """`with store.batch() as b:` — b is a Batch, written atomically when the
    block ends without an exception."""

    def __init__(self, write):
        self._write = write
        self.batch = Batch()

    def __enter__(self):
        return self.batch

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and len(self.batch):
                self._write(self.batch)
        finally:
            self.batch.close()
        return False
