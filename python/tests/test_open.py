"""strata.open: engine detection as the tool does it, creation with an
engine, refusal of a contradicting engine; the library's version; the
ctypes structures against the C compiler's layout."""
import ctypes
import os
import shutil
import subprocess
import sys
import unittest

from helpers import ROOT, TempDirTest, strata


class Open(TempDirTest):
    def test_detection(self):
        self.assertIsNone(strata.detect_engine(self.path("absent")))
        d = self.path("d")
        os.mkdir(d)
        self.assertIsNone(strata.detect_engine(d))
        open(os.path.join(d, "000001.log"), "wb").close()
        self.assertEqual(strata.detect_engine(d), "wal")
        open(os.path.join(d, "000002.data"), "wb").close()
        self.assertEqual(strata.detect_engine(d), "bitcask")
        open(os.path.join(d, "CURRENT"), "wb").close()
        self.assertEqual(strata.detect_engine(d), "lsm")

    def test_create_and_reopen_each_engine(self):
        with strata.open(self.path("b"), engine="bitcask") as db:
            db[b"k"] = b"v"
        with strata.open(self.path("w"), engine="wal") as w:
            w.append_put(b"k", b"v")
        with strata.open(self.path("b")) as db:
            self.assertEqual(db[b"k"], b"v")
        with strata.open(self.path("w")) as w:
            self.assertEqual(len(w.replay()), 1)
        with self.assertRaises(strata.InvalidArgumentError) as cm:
            strata.open(self.path("b"), engine="wal")
        self.assertIn("bitcask", str(cm.exception))
        with self.assertRaises(ValueError):
            strata.open(self.path("x"), engine="btree")

    def test_lsm_is_the_default_engine(self):
        self.assertTrue(strata.HAVE_LSM)
        with strata.open(self.path("l")) as db:
            self.assertIsInstance(db, strata.DB)
            db[b"k"] = b"v"
        self.assertEqual(strata.detect_engine(self.path("l")), "lsm")

    def test_import_from_the_source_tree_finds_build(self):
        # The acceptance: `python3 -c 'import strata'` from python/
        # with nothing set loads the library of the source tree's build/.
        lib = os.path.join(ROOT, "build", "libstrata.so")
        if not os.path.exists(lib):
            self.skipTest("no build/libstrata.so")
        env = {k: v for k, v in os.environ.items()
               if k not in ("STRATA_LIB", "LD_PRELOAD", "PYTHONPATH")}
        p = subprocess.run(
            [sys.executable, "-c",
             "import strata; print(strata.library_path, strata.version())"],
            cwd=os.path.join(ROOT, "python"), env=env, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        path, version = p.stdout.decode().split()
        self.assertEqual(os.path.realpath(path), os.path.realpath(lib))
        self.assertEqual(version, strata.version())

    def test_version(self):
        v = strata.version()
        self.assertRegex(v, r"^\d+\.\d+\.\d+$")
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            self.assertIn("VERSION %s " % v, f.read())


STRUCTS = {
    "strata_damage": strata._ffi.Damage,
    "strata_wal_damage": strata._ffi.WalDamage,
    "strata_bitcask_options": strata._ffi.BitcaskOptions,
    "strata_bitcask_stats": strata._ffi.BitcaskStats,
    "strata_wal_options": strata._ffi.WalOptions,
    "strata_wal_record": strata._ffi.WalRecord,
    "strata_options": strata._ffi.Options,
    "strata_read_options": strata._ffi.ReadOptions,
    "strata_write_options": strata._ffi.WriteOptions,
    "strata_db_stats": strata._ffi.DbStats,
}


@unittest.skipUnless(shutil.which("cc"), "no C compiler")
class Layout(TempDirTest):
    def test_structs_match_the_header(self):
        lines = ['#include <stddef.h>', '#include <stdio.h>',
                 '#include "strata.h"', 'int main(void) {']
        for name, cls in STRUCTS.items():
            lines.append('printf("%s %%zu\\n", sizeof(%s));' % (name, name))
            for field, _ in cls._fields_:
                lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                             % (name, field, name, field))
        lines.append("return 0; }")
        src = self.path("layout.c")
        with open(src, "w") as f:
            f.write("\n".join(lines))
        exe = self.path("layout")
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        subprocess.run(["cc", "-I", os.path.join(ROOT, "include"), "-o", exe,
                        src], check=True, env=env)
        out = subprocess.run([exe], check=True, capture_output=True,
                             env=env).stdout.decode().split("\n")
        got = dict(line.split() for line in out if line)
        for name, cls in STRUCTS.items():
            self.assertEqual(int(got[name]), ctypes.sizeof(cls), name)
            for field, _ in cls._fields_:
                self.assertEqual(int(got["%s.%s" % (name, field)]),
                                 getattr(cls, field).offset,
                                 "%s.%s" % (name, field))


if __name__ == "__main__":
    unittest.main()
