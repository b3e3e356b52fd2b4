"""The LSM store (strata.DB) from Python: mapping access, ordered and ranged
iteration both ways, batches, snapshots, persistence across flush and
compaction, and a damaged table."""
import glob
import os
import unittest

from helpers import TempDirTest, flip_byte, strata


class LSM(TempDirTest):
    def test_mapping_and_ranges(self):
        with strata.DB(self.path("db")) as db:
            for i in range(100):
                db[b"k%03d" % i] = b"v%d" % i
            del db[b"k050"]
            self.assertEqual(db[b"k007"], b"v7")
            self.assertNotIn(b"k050", db)
            with self.assertRaises(KeyError):
                db[b"k050"]
            self.assertEqual(len(db), 99)
            keys = list(db)
            self.assertEqual(keys, sorted(keys))
            self.assertEqual(list(db.keys(b"k048", b"k053")),
                             [b"k048", b"k049", b"k051", b"k052"])
            self.assertEqual(list(db.keys(b"k048", b"k053", reverse=True)),
                             [b"k052", b"k051", b"k049", b"k048"])
            self.assertEqual(list(db.keys(b"k098")), [b"k098", b"k099"])
            self.assertEqual(list(db.keys(None, b"k002", reverse=True)),
                             [b"k001", b"k000"])
            self.assertEqual(list(db.keys(b"z")), [])
            # an abandoned iteration is cleaned up at close
            it = db.items()
            next(it)

    def test_batches_and_snapshots(self):
        with strata.DB(self.path("db")) as db:
            db[b"a"] = b"1"
            with db.snapshot() as snap:
                with db.batch() as b:
                    b.put(b"a", b"2").put(b"b", b"3")
                self.assertEqual(db[b"a"], b"2")
                self.assertEqual(snap[b"a"], b"1")
                self.assertIsNone(snap.get(b"b"))
                self.assertEqual(list(snap.items()), [(b"a", b"1")])
                self.assertGreater(snap.sequence, 0)
            self.assertEqual(dict(db.items()), {b"a": b"2", b"b": b"3"})

    def test_persists_through_flush_and_compaction(self):
        p = self.path("db")
        with strata.DB(p, write_buffer_size=64 * 1024) as db:
            for i in range(5000):
                db[b"key%05d" % i] = b"x" * 100
            for i in range(0, 5000, 3):
                del db[b"key%05d" % i]
            db.flush()
            db.compact()
            self.assertIsNotNone(db.property("strata.stats"))
            self.assertIsNone(db.property("no.such.property"))
            self.assertGreater(db.stats()["flushes"], 0)
        self.assertEqual(strata.detect_engine(p), "lsm")
        self.assertEqual(strata.lsm.verify(p), [])
        with strata.open(p) as db:
            self.assertIsInstance(db, strata.DB)
            self.assertEqual(len(db), 5000 - len(range(0, 5000, 3)))
            self.assertEqual(db[b"key00001"], b"x" * 100)
            self.assertNotIn(b"key00003", db)

    def test_damaged_table_is_reported_not_returned(self):
        p = self.path("db")
        with strata.DB(p, compression="none") as db:
            for i in range(2000):
                db[b"key%05d" % i] = b"%05d" % i * 20
            db.compact()
        tables = glob.glob(os.path.join(p, "*.ldb"))
        self.assertTrue(tables)
        flip_byte(tables[0], 100)  # inside the first data block
        damage = strata.lsm.verify(p)
        self.assertGreaterEqual(len(damage), 1)
        with strata.DB(p) as db:
            with self.assertRaises(strata.CorruptionError) as cm:
                list(db.items())
            self.assertIn(".ldb", cm.exception.message)
            bad = 0
            for i in range(2000):
                try:
                    v = db.get(b"key%05d" % i)
                except strata.CorruptionError:
                    bad += 1
                    continue
                self.assertEqual(v, b"%05d" % i * 20)
            self.assertGreater(bad, 0)


if __name__ == "__main__":
    unittest.main()
