"""helpers.py — what the binding's tests share: a temporary directory under
$STRATA_TMP, the strata tool ($STRATA_BIN, default build/strata), and a
byte-flipper standing in for a disk fault."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # python/, for `import strata`

import strata  # noqa: E402

TOOL = os.environ.get("STRATA_BIN") or os.path.join(ROOT, "build", "strata")


class TempDirTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("STRATA_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="pytest.", dir=base)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)


def tool(*args, input=None):
    """Runs the strata tool: (exit status, stdout bytes, stderr text)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # the tool links the library statically
    p = subprocess.run([TOOL] + list(args), input=input, capture_output=True,
                       env=env)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def flip_byte(path, offset=None):
    """Inverts one byte (the middle one by default); returns its offset."""
    size = os.path.getsize(path)
    if offset is None:
        offset = size // 2
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
    return offset
