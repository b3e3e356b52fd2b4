"""The WAL from Python: appends and sequence numbers, batches, replay after
a checkpoint, truncation, record iteration, and recovery reports."""
import os
import unittest

from helpers import TempDirTest, flip_byte, strata


class WALBasics(TempDirTest):
    def test_append_replay_checkpoint_truncate(self):
        p = self.path("wal")
        with strata.WAL(p) as w:
            self.assertEqual(w.last_sequence, 0)
            self.assertEqual(w.append_put(b"a", b"1"), 1)
            self.assertEqual(w.append([("put", b"b", b"2"), ("del", b"a")]), 2)
            with w.batch() as b:
                b.put(b"c", b"3")
            self.assertEqual(b.sequence, 4)
            self.assertEqual(w.append_delete(b"c"), 5)
            self.assertEqual(w.last_sequence, 5)
            w.checkpoint(3)
            self.assertEqual(w.checkpointed, 3)
        self.assertEqual(strata.detect_engine(p), "wal")
        with strata.open(p) as w:
            self.assertIsInstance(w, strata.WAL)
            self.assertEqual(w.checkpointed, 3)
            ops = w.replay(after=w.checkpointed)
            self.assertEqual(ops, [
                strata.WALOp(4, "put", b"c", b"3"),
                strata.WALOp(5, "del", b"c", None)])
            self.assertEqual(len(w.replay()), 5)
            recs = list(w)
            self.assertEqual([r.sequence for r in recs], [1, 2, 4, 5])
            self.assertEqual([r.count for r in recs], [1, 2, 1, 1])
            self.assertEqual(recs[0].offset, 0)
            seq, ops = strata.decode_batch(recs[1].data)
            self.assertEqual(seq, 2)
            self.assertEqual(ops, [("put", b"b", b"2"), ("del", b"a", None)])
            w.truncate_back(4)  # drops the batch at 5
            self.assertEqual(w.last_sequence, 4)
            self.assertEqual(w.append_put(b"d", b"4"), 5)
            self.assertEqual(w.replay(after=4),
                             [strata.WALOp(5, "put", b"d", b"4")])
            with self.assertRaises(strata.InvalidArgumentError) as cm:
                w.truncate_back(1)  # below the checkpoint
            self.assertIsInstance(cm.exception, ValueError)
            self.assertTrue(cm.exception.message)

    def test_truncate_front_deletes_segments(self):
        p = self.path("wal")
        with strata.WAL(p, segment_size=4096, sync="none") as w:
            for i in range(200):
                w.append_put(b"key%d" % i, b"x" * 100)
            w.sync()
            before = sorted(n for n in os.listdir(p) if n.endswith(".log"))
            self.assertGreater(len(before), 2)
            w.checkpoint(150)
            w.truncate_front(150)
            after = sorted(n for n in os.listdir(p) if n.endswith(".log"))
            self.assertLess(len(after), len(before))
            ops = w.replay()
            self.assertLessEqual(ops[0].sequence, 151)
            self.assertEqual(ops[-1].sequence, 200)

    def test_batch_object_and_bad_operation(self):
        with strata.WAL(self.path("wal")) as w:
            b = strata.Batch()
            b.put(b"k", b"v").delete(b"j")
            self.assertEqual(len(b), 2)
            self.assertEqual(w.append(b), 1)
            self.assertEqual(b.sequence, 1)
            self.assertEqual(strata.decode_batch(b.data())[1],
                             [("put", b"k", b"v"), ("del", b"j", None)])
            b.close()
            with self.assertRaises(ValueError):
                w.append([("frob", b"k")])
            with self.assertRaises(strata.CorruptionError):
                strata.decode_batch(b"\x01\x02\x03")


class WALDamage(TempDirTest):
    def test_point_in_time_reports_what_it_lost(self):
        p = self.path("wal")
        with strata.WAL(p) as w:
            for i in range(50):
                w.append_put(b"key%02d" % i, b"v" * 200)
        flip_byte(os.path.join(p, "000001.log"))
        n, damage = strata.wal.verify(p)
        self.assertGreaterEqual(len(damage), 1)
        self.assertEqual(damage[0].kind, "checksum")
        self.assertLess(n, 50)
        with self.assertRaises(strata.CorruptionError) as cm:
            strata.WAL(p, recovery="absolute")
        self.assertIn("000001.log", cm.exception.message)
        self.assertGreaterEqual(len(cm.exception.damage), 1)
        with strata.WAL(p) as w:  # point-in-time keeps the prefix
            self.assertGreaterEqual(len(w.damage), 1)
            d = w.damage[0]
            self.assertEqual(d.segment, 1)
            self.assertTrue(d.file.endswith("000001.log"))
            kept = w.replay()
            self.assertGreater(len(kept), 0)
            self.assertLess(len(kept), 50)
            self.assertEqual([op.sequence for op in kept],
                             list(range(1, len(kept) + 1)))
            if d.lost_first is not None:
                self.assertEqual(d.lost_first, len(kept) + 1)
            # numbering never reuses what the lost batches had
            self.assertGreater(w.append_put(b"new", b"1"), len(kept))


if __name__ == "__main__":
    unittest.main()
