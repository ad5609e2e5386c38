"""Headless chromium, as the browser tests drive it: Debian's /usr/bin/chromium (`make browser`),
with the flags that work on a closed network and as root, a fresh profile per run.

A test page may carry a probe script (its own, never the page under test's) that measures the
DOM after load and writes the result into the page; `--dump-dom` prints it.
"""

import html
import json
import re
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


_PROBE = """<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const found = {
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, innerWidth: window.innerWidth,
    overflowing: [...document.body.querySelectorAll("*")]
      .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1)
      .map(e => e.tagName + " " + (e.textContent || "").slice(0, 60)).slice(0, 5)};
MEASURES
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


def probe_script(measures=""):
    """A probe script: after load it records the page's widths and what sticks out of the
    window, runs `measures` (JavaScript that adds to `found`; `root` is the page's root
    element), and writes `found` as JSON into <pre id="probe">."""
    return _PROBE.replace("MEASURES", measures)


def probed(page, cwd, width=WIDTH):
    """What the probe script in the file `page` measured, loaded `width` pixels wide."""
    done = chromium("--dump-dom", "--virtual-time-budget=10000", Path(page).as_uri(), cwd=cwd,
                    width=width)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the probe did not run: {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))
