"""Headless Chromium for the report's browser test: load a ``file://`` page with no network use and return its DOM.

Usage::

    dom = dump_dom(binary, page, tmp_path)          # the DOM after load, serialized
    screenshot(binary, page, tmp_path / "r.png")    # a PNG of the top of the page
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional

TIMEOUT = 60  # seconds for one browser run; a normal one takes one or two

# No sandbox (the tests may run as root), no GPU, and nothing that reaches the network on its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars"]


def find_chromium() -> Optional[str]:
    """The distribution's Chromium (``PYTEST_IAM_CHROMIUM`` overrides), or None."""
    for name in (os.environ.get("PYTEST_IAM_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _run(binary: str, args: List[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="pytest-iam-chromium-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            out, err = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the browser and the helpers it started, in its own group
            process.communicate()
            raise
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        if process.returncode != 0:
            raise RuntimeError(f"chromium exited with {process.returncode}: {err[-2000:]}")
        return out


def dump_dom(binary: str, page: Path) -> str:
    return _run(binary, ["--dump-dom", page.resolve().as_uri()])


def screenshot(binary: str, page: Path, png: Path, width: int = 1280, height: int = 2000) -> Path:
    _run(binary, [f"--window-size={width},{height}", f"--screenshot={png}", page.resolve().as_uri()])
    return png
