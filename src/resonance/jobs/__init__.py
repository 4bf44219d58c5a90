"""Jobs: how command-line work reaches the store while `resonance serve` owns it.

DuckDB lets one process write a file and no other process open it meanwhile.
When a server runs, it advertises itself in `<db>.server.json` (`lockfile.py`);
`resonance.cli.app.store_for` then forwards the whole command to the server
(`client.py`), which records it in the `jobs` table and runs the very same Typer
command in a worker thread with its own store injected (`runner.py`,
`context.py`). See docs/architecture.md.
"""
