"""Headless chromium, as the browser tests drive it: Debian's /usr/bin/chromium (`make browser`),
with the flags that work on a closed network and as root, a fresh profile per run.

A test page may carry a probe script (its own, never the page under test's) that measures the
DOM after load and writes the result into the page; `--dump-dom` prints it.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1366, 900
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
MISSING = (f"{CHROMIUM} is missing: run `make browser` (as root: apt-get install -y chromium) "
           "for the tests in a browser")
needed = pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING)


def chromium(*args, cwd, width=WIDTH, height=HEIGHT):
    """Run chromium on `args` (a page's URI after --dump-dom or --screenshot=PATH) in `cwd`."""
    profile = Path(cwd) / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--window-size={width},{height}",
                           f"--user-data-dir={profile}", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)
