"""The Bitcask store from Python: the mapping protocol, ordered and ranged
iteration, batches, persistence, errors, and a damaged data file."""
import os
import unittest

from helpers import TempDirTest, flip_byte, strata


class BitcaskMapping(TempDirTest):
    def test_mapping_protocol(self):
        with strata.Bitcask(self.path("db")) as db:
            db[b"b"] = b"2"
            db[b"a"] = b"1"
            db["c"] = "3"  # str is UTF-8
            self.assertEqual(db[b"a"], b"1")
            self.assertEqual(db[b"c"], b"3")
            self.assertIn(b"b", db)
            self.assertNotIn(b"zz", db)
            self.assertEqual(db.get(b"zz"), None)
            self.assertEqual(db.get(b"zz", b"d"), b"d")
            self.assertEqual(len(db), 3)
            self.assertEqual(list(db), [b"a", b"b", b"c"])
            self.assertEqual(list(db.values()), [b"1", b"2", b"3"])
            del db[b"b"]
            self.assertNotIn(b"b", db)
            with self.assertRaises(KeyError):
                db[b"b"]
            with self.assertRaises(KeyError):
                del db[b"b"]
            with self.assertRaises(strata.NotFoundError) as cm:
                db[b"nope"]
            self.assertEqual(cm.exception.code, 1)
            with self.assertRaises(TypeError):
                db[5] = b"x"

    def test_binary_keys_and_empty_values(self):
        with strata.Bitcask(self.path("db")) as db:
            key = bytes(range(256))
            db[key] = b""
            db[b"\x00"] = b"\x00\xff"
            self.assertEqual(db[key], b"")
            self.assertEqual(db[b"\x00"], b"\x00\xff")
            self.assertEqual(list(db), [b"\x00", key])

    def test_ranges(self):
        with strata.Bitcask(self.path("db")) as db:
            db.update({b"k%02d" % i: b"v%d" % i for i in range(20)})
            self.assertEqual([k for k, _ in db.items(b"k05", b"k08")],
                             [b"k05", b"k06", b"k07"])
            self.assertEqual(list(db.keys(b"k18")), [b"k18", b"k19"])
            self.assertEqual(list(db.keys(None, b"k02")), [b"k00", b"k01"])
            self.assertEqual(list(db.keys(b"k17", reverse=True)),
                             [b"k19", b"k18", b"k17"])
            self.assertEqual(len(list(db.items(limit=0))), 20)
            self.assertEqual(list(db.items(b"x", b"y")), [])

    def test_batch_is_atomic_and_skipped_on_exception(self):
        with strata.Bitcask(self.path("db")) as db:
            db[b"gone"] = b"1"
            with db.batch() as b:
                b.put(b"x", b"1").put(b"y", b"2").delete(b"gone")
            self.assertEqual(list(db), [b"x", b"y"])
            with self.assertRaises(RuntimeError):
                with db.batch() as b:
                    b.put(b"z", b"3")
                    raise RuntimeError("abandon")
            self.assertNotIn(b"z", db)

    def test_persists_and_merges(self):
        p = self.path("db")
        with strata.Bitcask(p, sync="always") as db:
            for i in range(100):
                db[b"key%03d" % i] = b"value%d" % i
            for i in range(0, 100, 2):
                del db[b"key%03d" % i]
            db.merge()
            st = db.stats()
            self.assertEqual(st["keys"], 50)
            self.assertEqual(st["merges"], 1)
        self.assertEqual(strata.detect_engine(p), "bitcask")
        with strata.open(p) as db:
            self.assertIsInstance(db, strata.Bitcask)
            self.assertEqual(len(db), 50)
            self.assertEqual(db[b"key001"], b"value1")
            self.assertNotIn(b"key002", db)

    def test_closed_and_locked(self):
        p = self.path("db")
        db = strata.Bitcask(p)
        with self.assertRaises(strata.BusyError) as cm:
            strata.Bitcask(p)
        self.assertIn("LOCK", str(cm.exception))  # the library's message
        self.assertEqual(cm.exception.code, 5)
        db.close()
        db.close()  # twice is fine
        with self.assertRaises(ValueError):
            db[b"a"] = b"b"

    def test_missing_without_create(self):
        with self.assertRaises(strata.NotFoundError) as cm:
            strata.Bitcask(self.path("absent"), create=False)
        self.assertIn("absent", cm.exception.message)

    def test_exception_in_a_callback_propagates(self):
        with strata.Bitcask(self.path("db")) as db:
            db[b"a"] = b"1"
            # iteration collects inside a C callback: a failure there must
            # surface in Python, not be swallowed
            orig = strata.bitcask.ctypes.string_at
            try:
                def boom(*a):
                    raise OSError("boom")
                strata.bitcask.ctypes.string_at = boom
                with self.assertRaises(OSError):
                    list(db.items())
            finally:
                strata.bitcask.ctypes.string_at = orig


class BitcaskDamage(TempDirTest):
    def write(self, n=100):
        p = self.path("db")
        with strata.Bitcask(p) as db:
            for i in range(n):
                db[b"key%03d" % i] = bytes([97 + i % 26]) * 200
            db.sync()
        return p, os.path.join(p, "000001.data")

    def test_absolute_refuses_with_message(self):
        p, data = self.write()
        off = flip_byte(data)
        with self.assertRaises(strata.CorruptionError) as cm:
            strata.Bitcask(p, recovery="absolute", read_only=True)
        e = cm.exception
        self.assertEqual(e.code, 2)
        self.assertIn("000001.data", e.message)
        self.assertIn("checksum", e.message)
        self.assertEqual(len(e.damage), 1)
        self.assertLessEqual(e.damage[0].offset, off)
        self.assertEqual(e.damage[0].kind, "checksum")

    def test_skip_keeps_the_rest_and_reports(self):
        p, data = self.write()
        off = flip_byte(data)
        with strata.Bitcask(p) as db:
            self.assertEqual(len(db.damage), 1)
            d = db.damage[0]
            self.assertTrue(d.file.endswith("000001.data"))
            self.assertLessEqual(d.offset, off)
            self.assertGreater(d.offset + d.bytes, off)
            self.assertEqual(d.kind, "checksum")
            self.assertGreaterEqual(d.records, 1)
            self.assertFalse(d.tail)
            self.assertTrue(d.reason)
            lost = db.lost_keys()
            self.assertEqual(len(lost), 1)
            self.assertEqual(len(db), 99)
            self.assertNotIn(lost[0][0], db)
            for k in db:  # every other record reads back intact
                self.assertEqual(len(db[k]), 200)


if __name__ == "__main__":
    unittest.main()
