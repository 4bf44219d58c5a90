"""The repository holds no half-resolved merge: a conflict marker in a stylesheet or template breaks
the page silently (no test of behaviour would notice a lost CSS block)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("<<<<<<< ", ">>>>>>> ")


def test_no_conflict_markers_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert len(files) > 50, "git ls-files found too few files"
    found = []
    for name in files:
        path = ROOT / name
        if path.suffix not in {".py", ".css", ".js", ".html", ".md", ".toml", ".cfg", ".txt", ".sh", ".yml", ""}:
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        found += [f"{name}:{i}" for i, line in enumerate(lines, 1) if line.startswith(MARKERS)]
    assert not found, f"merge conflict markers left in: {found}"
