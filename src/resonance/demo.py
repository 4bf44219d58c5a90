"""`resonance demo`: a working product in one command.

generate (skipped when the data folder already holds the same company) ->
ingest every format whose connector exists (skipped per format when the
store's `ingest_runs` shows it done) -> compute the metrics if the pipeline
exists -> create the demo sign-in accounts if the web app offers them. The
CLI then serves the app. Each optional step says clearly when it is skipped.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from resonance.generate import GENERATOR_VERSION, OUTPUTS, GenerateOptions, Progress, generate
from resonance.ingest import run_ingest
from resonance.privacy.consent import set_consent_many
from resonance.sources import SourceError, registry

Log = Callable[[str], None]
INGEST_ORDER = ("directory", "as2", "slack", "email", "calendar", "crm", "scim")
"""Directory first: people exist before their activity refers to them."""


@dataclass(slots=True)
class DemoReport:
    generated: bool = False
    ingested: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    computed: dict[str, Any] | None = None
    accounts: Any = None
    expert_opt_ins: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _same_company(manifest_path: Path, options: GenerateOptions) -> bool:
    if not manifest_path.exists():
        return False
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = options.as_dict()
    return manifest.get("generator_version") == GENERATOR_VERSION and manifest.get("options") == wanted


def _ingested(con: duckdb.DuckDBPyConnection, kind: str, paths: list[str]) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM ingest_runs WHERE kind = ? AND status = 'done' AND paths = ?", [kind, paths]
    ).fetchall()
    return rows[0][0] > 0


def prepare_demo(
    con: duckdb.DuckDBPyConnection, data_dir: Path, options: GenerateOptions, log: Log,
    progress: Progress | None = None,
) -> DemoReport:
    """Generate, ingest, compute and create accounts as far as the product offers; reuse what exists."""
    report = DemoReport()
    data_dir = Path(data_dir).resolve()
    manifest_path = data_dir / "manifest.json"

    started = time.perf_counter()
    if _same_company(manifest_path, options):
        log(f"data: reusing {data_dir} (same company already generated)")
    else:
        previous = any(_ingested(con, kind, [str(data_dir / OUTPUTS[kind][0])]) for kind in INGEST_ORDER)
        if manifest_path.exists() and previous:
            raise RuntimeError(
                f"{data_dir} holds a different synthetic company than the one already ingested in this store; "
                "remove the store file (or pass --db) to start a fresh demo"
            )
        log(f"data: generating {options.people:,} people over {options.days} days into {data_dir}")
        generate(options, data_dir, progress=progress)
        report.generated = True
    report.seconds["generate"] = time.perf_counter() - started
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))

    started = time.perf_counter()
    sources = registry()
    for kind in INGEST_ORDER:
        path = data_dir / OUTPUTS[kind][0]
        if kind not in sources:
            report.skipped[kind] = "no connector yet"
            log(f"ingest {kind}: skipped (no `{kind}` connector in this version)")
            continue
        if not path.exists():
            report.skipped[kind] = "not generated"
            continue
        paths = [str(path)]
        if _ingested(con, kind, paths):
            report.skipped[kind] = "already ingested"
            log(f"ingest {kind}: already in the store")
            continue
        opts = connector_options(sources[kind].option_help, manifest, data_dir)
        t0 = time.perf_counter()
        try:
            result = run_ingest(con, kind, paths, opts)
        except SourceError as exc:
            report.skipped[kind] = f"connector error: {exc}"
            log(f"ingest {kind}: [yellow]could not read {path.name}[/]: {exc}")
            continue
        report.ingested[kind] = result.as_dict()
        log(f"ingest {kind}: {result.ingested:,} new, {result.duplicates:,} present, {result.rejected:,} rejected "
            f"({time.perf_counter() - t0:.1f}s)")
    report.seconds["ingest"] = time.perf_counter() - started

    started = time.perf_counter()
    pipeline = _optional("resonance.metrics.pipeline", "run_pipeline")
    if pipeline is None:
        log("compute: skipped (the metrics pipeline is not in this version)")
    elif report.ingested or not _has_metrics(con):
        log("compute: running the metrics pipeline")
        report.computed = pipeline(con)
    else:
        log("compute: metrics already computed for this data")
    report.seconds["compute"] = time.perf_counter() - started

    report.expert_opt_ins = opt_in_demo_experts(con)
    if report.expert_opt_ins:
        log(f"consent: {report.expert_opt_ins:,} employees opted in to expert finding (about "
            f"{EXPERT_OPT_IN_PERCENT}%, as people in a company that uses it would; audited in consent_log)")

    create_accounts = _optional("resonance.web.accounts", "create_demo_accounts")
    if create_accounts is None:
        log("accounts: skipped (sign-in accounts are not in this version)")
    else:
        report.accounts = create_accounts(con)
        # The kudos walk-through: a customer meeting's organiser and a colleague who was in it.
        kudos_accounts = _optional("resonance.kudos.demo", "create_demo_accounts")
        if kudos_accounts is not None and isinstance(report.accounts, list):
            extra = kudos_accounts(con)
            report.accounts = [*report.accounts, *extra]
            if extra:
                log("kudos: `resonance kudos meetings --organizer organizer --customer` lists the customer "
                    "meetings `organizer` can thank `attendee` for (`resonance kudos links --meeting ID`)")
    return report


EXPERT_OPT_IN_PERCENT = 80
"""Share of the demo company's employees who opt in to being suggested as experts: consent
defaults off, so without this the demo's expert search would find nobody."""


def opt_in_demo_experts(con: duckdb.DuckDBPyConnection, percent: int = EXPERT_OPT_IN_PERCENT) -> int:
    """Opt `percent` of the employees (people from the directory, not customer contacts) in to
    `expert_finding`, through the consent module with one audit row each (changed by
    `resonance demo`). Who opts in is a stable hash of the person id, so a second run changes
    nothing; a choice already made (say, someone who turned it off) is kept. Returns how many."""
    people = con.execute(
        """SELECT person_id FROM people
           WHERE department IS NOT NULL AND NOT coalesce(is_external, false)
           ORDER BY person_id"""
    ).fetchall()
    chosen = [pid for (pid,) in people
              if int(hashlib.sha1(pid.encode(), usedforsecurity=False).hexdigest()[:8], 16) % 100 < percent]
    return set_consent_many(con, chosen, "expert_finding", True, changed_by="resonance demo", via="demo")


def connector_options(accepted: dict[str, str], manifest: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """What a connector needs to know about the generated company, for the options it accepts:
    the company's e-mail domains and legacy alias, the activity window (to expand recurring
    meetings), the CRM export (to link meeting attendees to customer accounts)."""
    wanted: dict[str, Any] = {
        "domains": ",".join(manifest["domains"]),
        "domain_aliases": ",".join(f"{a}:{c}" for a, c in manifest.get("domain_aliases", {}).items()),
        "window_start": manifest["start"],
        "window_end": manifest["end"],
    }
    if (data_dir / "crm").is_dir():
        wanted["crm"] = str(data_dir / "crm")
    return {k: v for k, v in wanted.items() if k in accepted and v}


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """A function from a part of the product that may not exist yet."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, name, None)


def _has_metrics(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'person_metrics'"
    ).fetchall()
    if not rows[0][0]:
        return False
    return con.execute("SELECT count(*) FROM person_metrics").fetchall()[0][0] > 0
