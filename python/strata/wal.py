"""wal.py — the write-ahead log (strata_wal_*): a directory of numbered
segments of write batches with consecutive sequence numbers, a checkpoint,
truncation and replay. Not a key-value store: an application's log."""
import collections
import ctypes
import os

from . import _ffi
from ._util import Batch, BatchContext, CallbackError, as_bytes
from .errors import check, wal_damage_collector

SYNC = {"always": 0, "interval": 1, "none": 2}

# One committed record (a batch) and where it lies; `data` is the encoded
# batch (strata.decode_batch reads it).
WALRecord = collections.namedtuple(
    "WALRecord", "segment offset end sequence count data")
# One operation of a committed batch: op is 'put' or 'del' (value None).
WALOp = collections.namedtuple("WALOp", "sequence op key value")


class WAL:
    """A WAL directory, created if needed and recovered at open under
    `recovery` (default point-in-time); `damage` lists what was dropped.

        with strata.WAL(path) as wal:
            seq = wal.append_put(b'k', b'v')
            with wal.batch() as b:           # one atomic batch
                b.put(b'a', b'1'); b.delete(b'k')
            for op in wal.replay(after=wal.checkpointed):
                ...
            wal.checkpoint(seq)
    """

    def __init__(self, path, sync="always", recovery="point-in-time",
                 segment_size=None, sync_interval_ms=None):
        self._w = None
        self.path = path
        self.damage = []
        o = _ffi.WalOptions()
        _ffi.lib.strata_wal_options_init(ctypes.byref(o))
        o.sync = SYNC[sync]
        o.recovery = _ffi.RECOVERY[recovery]
        if segment_size is not None:
            o.segment_size = segment_size
        if sync_interval_ms is not None:
            o.sync_interval_ms = sync_interval_ms
        self._on_damage = wal_damage_collector(self.damage)
        o.on_damage = self._on_damage
        w = ctypes.c_void_p()
        rc = _ffi.lib.strata_wal_open(os.fsencode(path), ctypes.byref(o),
                                      ctypes.byref(w))
        check(rc, self.damage)
        self._w = w

    def _handle(self):
        if self._w is None:
            raise ValueError("operation on a closed WAL")
        return self._w

    def close(self):
        """Syncs and closes."""
        if self._w is not None:
            w, self._w = self._w, None
            check(_ffi.lib.strata_wal_close(w))

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

    def append(self, batch):
        """Appends a Batch (or an iterable of ('put', k, v) / ('del', k)
        tuples) as one atomic record; returns its first sequence number."""
        own = not isinstance(batch, Batch)
        if own:
            ops, batch = batch, Batch()
            for op in ops:
                if op[0] in ("put", b"put"):
                    batch.put(op[1], op[2])
                elif op[0] in ("del", b"del", "delete"):
                    batch.delete(op[1])
                else:
                    raise ValueError("unknown operation %r" % (op[0],))
        try:
            seq = ctypes.c_uint64()
            check(_ffi.lib.strata_wal_append(self._handle(), batch._b,
                                             ctypes.byref(seq)))
            return seq.value
        finally:
            if own:
                batch.close()

    def append_put(self, key, value):
        return self.append([("put", key, value)])

    def append_delete(self, key):
        return self.append([("del", key)])

    def batch(self):
        """`with wal.batch() as b:` — appended as one record when the block
        ends; b.sequence is then its first sequence number."""
        return BatchContext(self.append)

    def sync(self):
        """Makes every append so far durable (for sync='none'/'interval')."""
        check(_ffi.lib.strata_wal_sync(self._handle()))

    @property
    def last_sequence(self):
        return _ffi.lib.strata_wal_last_sequence(self._handle())

    @property
    def checkpointed(self):
        return _ffi.lib.strata_wal_checkpointed(self._handle())

    def checkpoint(self, seq):
        """Records durably that everything up to seq was applied elsewhere."""
        check(_ffi.lib.strata_wal_checkpoint(self._handle(), seq))

    def truncate_front(self, seq):
        """Deletes the whole segments all of whose sequence numbers are <=
        seq."""
        check(_ffi.lib.strata_wal_truncate_front(self._handle(), seq))

    def truncate_back(self, seq):
        """Discards every batch holding a sequence number > seq."""
        check(_ffi.lib.strata_wal_truncate_back(self._handle(), seq))

    def truncate(self, front=None, back=None):
        if front is not None:
            self.truncate_front(front)
        if back is not None:
            self.truncate_back(back)

    def replay(self, after=0):
        """[WALOp] of every committed operation with sequence > after, in
        order."""
        out = []
        cb = CallbackError()

        def on_op(arg, seq, op, k, kl, v, vl):
            key = ctypes.string_at(k, kl) if kl else b""
            if op == _ffi.OP_PUT:
                out.append(WALOp(seq, "put", key,
                                 ctypes.string_at(v, vl) if vl else b""))
            else:
                out.append(WALOp(seq, "del", key, None))

        fn = _ffi.WAL_OP_FN(cb.guard(on_op))
        rc = _ffi.lib.strata_wal_replay(self._handle(), after, fn, None)
        cb.reraise()
        check(rc, self.damage)
        return out

    def records(self):
        """[WALRecord] of every committed record, in order."""
        out = []
        cb = CallbackError()

        def on_record(arg, r):
            r = r.contents
            data = ctypes.string_at(r.data, r.size) if r.size else b""
            out.append(WALRecord(r.segment, r.offset, r.end, r.sequence,
                                 r.count, data))

        fn = _ffi.WAL_RECORD_FN(cb.guard(on_record))
        rc = _ffi.lib.strata_wal_iterate(self._handle(), fn, None)
        cb.reraise()
        check(rc, self.damage)
        return out

    def __iter__(self):
        return iter(self.records())

    def __repr__(self):
        state = "closed" if self._w is None else "open"
        return "<strata.WAL %r (%s)>" % (self.path, state)


def verify(path):
    """Reads every segment of a WAL directory without changing it: returns
    (intact_records, [DamageReport])."""
    damage = []
    fn = wal_damage_collector(damage)
    n = ctypes.c_uint64()
    check(_ffi.lib.strata_wal_verify(os.fsencode(path), fn, None,
                                     ctypes.byref(n)), damage)
    return n.value, damage


__all__ = ["WAL", "WALRecord", "WALOp", "verify", "as_bytes"]
