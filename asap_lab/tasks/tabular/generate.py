"""Generate (or check) the tabular benchmarks' data files.

    OMP_NUM_THREADS=1 python -m asap_lab.tasks.tabular.generate            # all tasks, ~10 min
    python -m asap_lab.tasks.tabular.generate --task tab-hgb-wine          # one task
    python -m asap_lab.tasks.tabular.generate --check [--rows 6]           # recompute a slice, compare

Each grid configuration is trained with a fixed 3-fold stratified CV (shuffle, random_state 0),
on one thread, and its value (1 - mean CV accuracy) and measured CV time (``fit_s``) are stored
as one row of ``data/<task>.csv.gz`` in the grid's fixed order. Values are deterministic and
written with ``repr`` (17 significant digits), so ``--check`` compares them bit-exactly; times
are measurements of this machine and are never compared.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
import time
from pathlib import Path
from typing import Any

from asap_lab.tasks.tabular._grid import GRIDS, GridSpec, evaluate_config

DATA_DIR = Path(__file__).parent / "data"


def data_path(task: str) -> Path:
    return DATA_DIR / f"{task}.csv.gz"


def generate(spec: GridSpec, *, limit: int | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """Evaluate the grid (its first ``limit`` configurations if given), in row order."""
    rows = []
    t0 = time.perf_counter()
    for i, config in enumerate(spec.configs()):
        if limit is not None and i >= limit:
            break
        value, fit_s = evaluate_config(spec, config)
        rows.append({**config, "value": value, "fit_s": fit_s})
        if progress and (i + 1) % 25 == 0:
            print(f"  {spec.name}: {i + 1}/{spec.size} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    return rows


def write(spec: GridSpec, rows: list[dict[str, Any]], path: Path) -> None:
    """Rows as gzip'd CSV (values with repr: exact round trip; no timestamp in the gzip header)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = [*spec.params, "value", "fit_s"]
    w.writerow(cols)
    for r in rows:
        w.writerow([repr(r["value"]) if c == "value" else (f"{r[c]:.4f}" if c == "fit_s" else r[c])
                    for c in cols])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f, gzip.GzipFile(filename="", fileobj=f, mode="wb", mtime=0,
                                              compresslevel=9) as gz:
        gz.write(buf.getvalue().encode())


def check(rows: int) -> int:
    """Recompute the first ``rows`` and ``rows`` spread-out rows of every task; compare values."""
    from asap_lab.tasks.tabular import load_table

    bad = 0
    for name, spec in GRIDS.items():
        table = load_table(name)
        configs = list(spec.configs())
        idx = sorted(set(range(min(rows, len(configs)))) | set(range(0, len(configs), len(configs) // rows)))
        before = bad
        for i in idx:
            value, _ = evaluate_config(spec, configs[i])
            stored = table.values[i]
            ok = value == stored
            bad += not ok
            if not ok:
                print(f"MISMATCH {name} row {i} {configs[i]}: stored {stored!r}, now {value!r}")
        diff = bad - before
        print(f"{name}: {len(idx)} rows recomputed, {'all identical' if not diff else f'{diff} differ'}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", action="append", choices=sorted(GRIDS), help="only these tasks")
    ap.add_argument("--check", action="store_true", help="recompute a slice and compare bit-exactly")
    ap.add_argument("--rows", type=int, default=6, help="rows per task for --check (default 6)")
    args = ap.parse_args(argv)
    if args.check:
        return check(args.rows)
    for name in args.task or sorted(GRIDS):
        spec = GRIDS[name]
        t0 = time.perf_counter()
        rows = generate(spec)
        write(spec, rows, data_path(name))
        print(f"{name}: {len(rows)} rows in {time.perf_counter() - t0:.0f} s -> {data_path(name)}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
