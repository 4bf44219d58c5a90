"""Parameterised SQL where requests arrive: no value from a user can reach the text of a query.

Every f-string that builds SQL in the modules that serve requests (web, privacy, kudos,
org, review, advice, knowledge, jobs) may interpolate only module constants (ALL_CAPS)
or an expression reviewed below, with the reason it cannot carry user input. Values go
in as `?` parameters. A new interpolation fails this test until someone reviews it.
Connectors take SQL fragments from command-line options; those go through `lit()`
(tests/test_bad_input.py and the CSV tests feed them quotes).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "resonance"
SCOPE = ("web", "privacy", "kudos", "org", "review", "advice", "knowledge", "jobs")
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|COPY|ATTACH|DROP|FROM|WHERE)\b")
CONSTANT = re.compile(r"[A-Z_][A-Z0-9_]*")

REVIEWED = {
    "web/accounts.py": {
        '", ".join("u." + c.strip() for c in _USER_COLUMNS.split(","))': "column list from a constant",
    },
    "web/routes/admin.py": {"where": "a constant WHERE clause with ? placeholders"},
    "web/cache.py": {
        "k": "the position of a part in the constant PARTS (an int)",
        "sql.removeprefix('SELECT ')": "a constant metadata read from PARTS or FORGET_FROM_CATALOG",
    },
    "privacy/consent.py": {"leave": "one of two constant SQL fragments; values are ? parameters"},
    "privacy/export.py": {"table": "table names from the catalog, quoted"},
    "privacy/forget.py": {
        "_in(BUSINESS_KINDS)": "a constant tuple, quoted",
        "table": "table names from the catalog, quoted",
        "col": "column names from the catalog, quoted",
        "fix(col)": "an expression over catalog names; values are ? parameters",
        "fix(text)": "an expression over catalog names; values are ? parameters",
        'fix(f"x{cast}")': "an expression over a lambda variable; values are ? parameters",
        "matches": "an expression over catalog names; values are ? parameters",
        "text": "a catalog column cast",
        "back": "a constant cast",
        "cast": "a constant cast",
        'remap.format("kudos_id")': "a constant MAP lookup over a constant column; keys and values are ? parameters",
        'remap.format("native_id")': "a constant MAP lookup over a constant column; keys and values are ? parameters",
        'remap.format("subject")': "a constant MAP lookup over a constant column; keys and values are ? parameters",
        "remap.format(\"json_extract_string(extra, 'kudos_id')\")": "a constant MAP lookup over a constant "
                                                                   "expression; keys and values are ? parameters",
        "', '.join(c for c in _release_columns(con))": "column names from the catalog",
        "', '.join(columns)": "column names from the catalog",
        "', '.join('?' * len(columns))": "placeholders",
    },
    "kudos/context.py": {"kind_sql": "only ? placeholders, one per item kind"},
    "kudos/operations.py": {"cond": "constant conditions with ? placeholders, joined by the caller"},
    "jobs/runner.py": {"', '.join(JOB_COLUMNS)": "column list from a constant"},
    "org/export.py": {"path": "an output path given by an admin on the command line, quotes doubled",
                      "fmt": "one of two constants chosen by the file suffix"},
    "org/units.py": {"by": "checked against DIMENSIONS (_check_dimension) first"},
    "review/sharing.py": {"where": "constant WHERE clauses with ? placeholders, chosen by the caller"},
    "advice/simulate.py": {
        "where": "'true' or '<group> = ?', group one of department/role/location/company",
        '"true" if group == "company" else group + " = ?"': "group only from the person's own attributes "
                                                             "(department/role/location) or company",
    },
    "knowledge/corpus.py": {
        "cases": "CASE built from constant verb weights",
        "_sql_list(verbs)": "constant verb names, quoted",
        'float(weights.get("Kudos", 0))': "a float",
        'float(weights.get("Reply", 0))': "a float",
        "scheduled": "a constant SQL fragment",
        "doc": "a constant SQL fragment",
        "kinds": "constant item kinds, quoted",
        "external_filter": "a constant SQL fragment",
    },
}


def interpolations(root: Path = SRC) -> dict[str, set[str]]:
    """Module (relative to `root`) -> the expressions interpolated into SQL f-strings."""
    found: dict[str, set[str]] = {}
    for area in SCOPE:
        for path in sorted((root / area).rglob("*.py")):
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.JoinedStr):
                    continue
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if not SQL_WORDS.search(text):
                    continue
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        expr = ast.get_source_segment(source, value.value) or ""
                        if not CONSTANT.fullmatch(expr):
                            found.setdefault(str(path.relative_to(root)), set()).add(expr)
    return found


def test_every_sql_interpolation_in_request_serving_code_is_reviewed():
    unreviewed = {
        f"{module}: {expr}"
        for module, exprs in interpolations().items()
        for expr in exprs
        if expr not in REVIEWED.get(module, {})
    }
    assert not unreviewed, "SQL built with values that may come from a user (use ? parameters, or review):\n" + \
        "\n".join(sorted(unreviewed))


def test_the_scanner_finds_an_injection(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "bad.py").write_text(
        'def f(con, name, limit):\n'
        '    con.execute(f"SELECT * FROM people WHERE name = \'{name}\' LIMIT {MAX_ROWS}")\n'
        '    con.execute(f"INSERT INTO log VALUES ({limit!r})")\n'
        '    return f"hello {name}"\n'
    )
    assert interpolations(tmp_path) == {"web/bad.py": {"name", "limit"}}
