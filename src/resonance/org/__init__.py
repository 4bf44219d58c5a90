"""Organisational roll-ups: the individual metrics aggregated over units, never exposing a person.

- `units`: who belongs to which unit (manager subtree, department, location, role) in a scope.
- `protect`: minimum group size and complementary suppression against differencing, with the
  release log that remembers what was shown (across views, viewers and time).
- `rollup`: distributions per unit (quantiles, shares of personas) computed in DuckDB.
- `flow`: knowledge flow between departments and locations, silos.
- `keyperson`: topics whose knowledge value is held by one or two people.
- `trends`: adoption and value over periods.
- `export`: CSV and Parquet of the aggregates (CSV-injection-safe).
See docs/org.md.
"""
