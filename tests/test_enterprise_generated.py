"""Every enterprise connector on the synthetic company that `resonance generate` writes.

Runs once the generator writes the enterprise formats (Slack, mbox, .ics, CRM, SCIM);
skipped, saying why, with a generator that does not yet.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import rows
from resonance.ingest import run_ingest

ORDER = ("directory", "as2", "slack", "email", "calendar", "crm", "scim")
PATHS = {"directory": "directory.csv", "as2": "activity.ndjson", "slack": "slack", "email": "mail.mbox",
         "calendar": "calendar.ics", "crm": "crm", "scim": "scim"}


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    generate_module = pytest.importorskip("resonance.generate")
    if not {"slack", "email", "calendar", "crm", "scim"} <= set(getattr(generate_module, "FORMATS", ())):
        pytest.skip("this generator does not write the enterprise formats yet")
    out = tmp_path_factory.mktemp("company")
    generate_module.generate(generate_module.GenerateOptions(people=80, days=30, seed=7), out)
    return out


@pytest.mark.slow
def test_generated_company_ingests_cleanly_and_resolves_identities(store, company):
    from resonance.sources import registry

    manifest = json.loads((company / "manifest.json").read_text())
    wanted = {
        "domains": ",".join(manifest["domains"]),
        "domain_aliases": ",".join(f"{a}:{c}" for a, c in manifest.get("domain_aliases", {}).items()),
        "window_start": manifest["start"], "window_end": manifest["end"], "crm": str(company / "crm"),
    }
    for kind in ORDER:
        accepted = registry()[kind].option_help
        report = run_ingest(store.con, kind, [company / PATHS[kind]],
                            {k: v for k, v in wanted.items() if k in accepted})
        assert report.ingested > 0, kind
        assert report.rejected == 0, (kind, dict(report.counts.reasons))
    # Identity keys the truth says belong to one person are in one person, and never more.
    with open(company / "truth" / "identities.csv", newline="") as f:
        truth = {r["identity"]: r["person_id"] for r in csv.DictReader(f)}
    persons_of_truth: dict[str, set[str]] = defaultdict(set)
    truths_of_person: dict[str, set[str]] = defaultdict(set)
    for identity, person in rows(store, "SELECT identity, person_id FROM identities"):
        if identity in truth:
            persons_of_truth[truth[identity]].add(person)
            truths_of_person[person].add(truth[identity])
    assert all(len(t) == 1 for t in truths_of_person.values())  # precision 1: no false merge
    split = sum(1 for p in persons_of_truth.values() if len(p) > 1)
    assert split <= 0.02 * len(persons_of_truth)  # the rest are Slack accounts without e-mail: suggestions
