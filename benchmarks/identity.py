"""Identity resolution against the generator's truth table: precision and recall of merges.

    python benchmarks/identity.py [--people 500] [--days 90] [--seed 42] [--data DIR] [--min-score 0.6]

Generates the synthetic company (`resonance generate`, or reads `--data DIR` written
by it), ingests every format in the demo's order with the options the manifest gives
(company domains, domain aliases, activity window, the CRM export for calendars),
then compares the store's persons with `truth/identities.csv` (every alias of every
person in every source, as the store spells it):

- merges: over all pairs of identity keys known to both, a pair is *predicted* when
  the store put both keys in one person and *true* when the truth says one person.
  precision = true predicted / predicted, recall = true predicted / true;
- merges + suggestions: the same after accepting every suggestion scoring at least
  `--min-score` (`resonance identities suggest`), and the precision of those
  suggestions themselves;
- look-alikes: pairs of different people sharing a name or first name
  (`truth/lookalikes.csv`) that ended up merged (must be 0).
Appends to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

ORDER = ("directory", "as2", "slack", "email", "calendar", "crm", "scim")
PATHS = {"directory": "directory.csv", "as2": "activity.ndjson", "slack": "slack", "email": "mail.mbox",
         "calendar": "calendar.ics", "crm": "crm", "scim": "scim"}


def options_for(kind: str, manifest: dict, data: Path) -> dict[str, str]:
    """The options the demo passes: only those the connector accepts."""
    from resonance.sources import registry

    accepted = registry()[kind].option_help
    wanted = {
        "domains": ",".join(manifest.get("domains", [])),
        "domain_aliases": ",".join(f"{a}:{c}" for a, c in manifest.get("domain_aliases", {}).items()),
        "window_start": manifest.get("start"),
        "window_end": manifest.get("end"),
        "crm": str(data / "crm") if (data / "crm").is_dir() else None,
    }
    return {k: v for k, v in wanted.items() if k in accepted and v}


def pair_counts(assign: dict[str, str], truth: dict[str, str]) -> tuple[int, int, int]:
    """(predicted pairs, true pairs, true predicted pairs) over keys in both maps."""
    keys = [k for k in assign if k in truth]
    by_pred: dict[str, int] = defaultdict(int)
    by_truth: dict[str, int] = defaultdict(int)
    by_both: dict[tuple[str, str], int] = defaultdict(int)
    for k in keys:
        by_pred[assign[k]] += 1
        by_truth[truth[k]] += 1
        by_both[(assign[k], truth[k])] += 1

    def pairs(counts: dict) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    return pairs(by_pred), pairs(by_truth), pairs(by_both)


def ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, help="A folder already written by `resonance generate`.")
    parser.add_argument("--min-score", type=float, default=0.6)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    from resonance.identity.matching import suggest
    from resonance.ingest import run_ingest
    from resonance.sources import registry
    from resonance.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            try:
                from resonance.generate import GenerateOptions, generate
            except ImportError:
                sys.exit("resonance generate is not available here: pass --data DIR")
            data = Path(tmp) / "company"
            generate(GenerateOptions(people=args.people, days=args.days, seed=args.seed), data)
        manifest = json.loads((data / "manifest.json").read_text())
        store = open_store(Path(tmp) / "identity.duckdb")
        con = store.con
        started = time.perf_counter()
        ingested = []
        for kind in ORDER:
            path = data / PATHS[kind]
            if kind in registry() and path.exists():
                report = run_ingest(con, kind, [path], options_for(kind, manifest, data))
                ingested.append(f"{kind} {report.ingested:,}+{report.rejected:,}r")
        ingest_s = time.perf_counter() - started

        truth: dict[str, str] = {}
        with open(data / "truth" / "identities.csv", newline="") as f:
            for row in csv.DictReader(f):
                truth[row["identity"]] = row["person_id"]
        assign = dict(con.execute("SELECT identity, person_id FROM identities").fetchall())
        predicted, true, hit = pair_counts(assign, truth)

        started = time.perf_counter()
        suggestions = suggest(con, min_score=args.min_score, limit=None)
        suggest_s = time.perf_counter() - started
        # Accept every suggestion: union the suggested persons.
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        for s in suggestions:
            a, b = find(s["person_a"]), find(s["person_b"])
            if a != b:
                parent[max(a, b)] = min(a, b)
        merged = {k: find(p) for k, p in assign.items()}
        predicted2, true2, hit2 = pair_counts(merged, truth)
        # A suggestion is right when both persons' keys belong to one truth person (majority vote).
        majority: dict[str, str] = {}
        votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for k, p in assign.items():
            if k in truth:
                votes[p][truth[k]] += 1
        for p, v in votes.items():
            majority[p] = max(v, key=v.get)  # type: ignore[arg-type]
        judged = [s for s in suggestions if s["person_a"] in majority and s["person_b"] in majority]
        right = sum(1 for s in judged if majority[s["person_a"]] == majority[s["person_b"]])

        lookalike_merges = 0
        lookalikes_file = data / "truth" / "lookalikes.csv"
        if lookalikes_file.exists():
            persons_of: dict[str, set[str]] = defaultdict(set)
            for k, p in assign.items():
                if k in truth:
                    persons_of[truth[k]].add(p)
            with open(lookalikes_file, newline="") as f:
                for row in csv.DictReader(f):
                    if persons_of.get(row["person_a"], set()) & persons_of.get(row["person_b"], set()):
                        lookalike_merges += 1
        people = con.execute("SELECT count(*) FROM people").fetchall()[0][0]
        store.close()

    lines = [
        f"input: {data.name if args.data else f'{args.people} people, {args.days} days, seed {args.seed}'}; "
        f"ingested in {ingest_s:.1f} s: {', '.join(ingested)}",
        f"keys: {len(assign):,} in the store, {len(truth):,} in the truth, {sum(1 for k in assign if k in truth):,} "
        f"in both; {people:,} persons in the store",
        f"merges              : precision {ratio(hit, predicted):.4f}  recall {ratio(hit, true):.4f}  "
        f"({hit:,} of {predicted:,} predicted pairs true; {true:,} true pairs)",
        f"merges + suggestions: precision {ratio(hit2, predicted2):.4f}  recall {ratio(hit2, true2):.4f}  "
        f"(accepting {len(suggestions):,} suggestions scoring >= {args.min_score}, found in {suggest_s:.2f} s)",
        f"suggestions alone   : precision {ratio(right, len(judged)):.4f}  ({right} of {len(judged)} right)",
        f"look-alikes merged  : {lookalike_merges} (people sharing a name or first name; must be 0)",
    ]
    print("\n".join(lines))
    if not args.no_append:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = f"load average {os.getloadavg()[0]:.1f} (shared 2-CPU machine)"
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(f"\n## identity resolution vs truth — {stamp}\n\n`python benchmarks/identity.py`, {load}.\n\n```\n"
                    + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
