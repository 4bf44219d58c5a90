"""Coverage-guided fuzzing (atheris, libFuzzer) of the connectors that parse in Python.

    python tests/atheris_harness.py KIND WORKDIR [libFuzzer flags, e.g. -runs=2000 -timeout=10]

The real sample of KIND (the same seeds as tests/test_fuzz_connectors.py) is the starting
corpus; atheris instruments the connector's module, so mutations that reach new branches
are kept. Each input is written where the connector expects it and read with
`Source.read`: a `SourceError` is a clear refusal, any other exception is a crash, an
input slower than `-timeout` seconds a hang, more than `-rss_limit_mb` a memory failure;
libFuzzer then exits non-zero and keeps the input in WORKDIR (crash-*, timeout-*, oom-*).
"""

from __future__ import annotations

import gzip
import shutil
import sys
import zlib
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["resonance.sources"]):  # before anything imports them
    from resonance.sources import SourceError, registry

    CONNECTORS = registry()  # imports every connector module, instrumented

CLEAR = (SourceError, EOFError, zlib.error, gzip.BadGzipFile)
"""Clear refusals: run_ingest turns broken compression into a SourceError (resonance/ingest.py)."""

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fuzz_connectors import SEEDS, SIBLINGS  # noqa: E402 - after the path

PYTHON_PARSERS = ("calendar", "crm", "email", "mattermost", "scim", "slack")
"""Connectors whose parsing is Python code (the others hand their files to DuckDB's readers,
which atheris cannot instrument; hypothesis covers all ten)."""


def main() -> None:
    kind, work = sys.argv[1], Path(sys.argv[2])
    seed_bytes, rel, target, options = SEEDS[kind]
    folder = work / "input"
    if kind in SIBLINGS:
        source, sub, names = SIBLINGS[kind]
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(source / name, folder / sub / name)
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "seed").write_bytes(seed_bytes())
    connector = CONNECTORS[kind]

    def one_input(data: bytes) -> None:
        (folder / rel).write_bytes(data)
        try:
            for _ in connector(**options).read(folder / target):
                pass
        except CLEAR:
            pass

    atheris.Setup([sys.argv[0], *sys.argv[3:], f"-artifact_prefix={work}/", str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
