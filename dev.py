#!/usr/bin/env python3
"""Set up a fresh clone and run the demo or the tests: `python3 dev.py demo|test [args]`.

Needs only Python 3.11+, Java 17 and Maven. It creates `.venv`, installs the pinned project
into it (again only when pyproject.toml changed), and hands over to the `clickstream` command
or to pytest. The tests start every service they need themselves and stop them afterwards.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed-pyproject"


def ensure_venv() -> None:
    # The one line an older interpreter must still reach, to say what is missing.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing the project and its pinned dependencies into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--editable", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        print(__doc__)
        return 2
    ensure_venv()
    command, args = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    if command == "demo":
        return subprocess.call([str(BIN / "clickstream"), "demo", *args])
    for lint in (["check", "."], ["format", "--check", "."]):
        code = subprocess.call([str(BIN / "ruff"), *lint])
        if code:
            return code
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *args])


if __name__ == "__main__":
    sys.exit(main())
