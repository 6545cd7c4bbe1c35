"""`python -m bench`: speed, memory and throttle as ratios to baselines measured in the same run."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.exports import write_oker_export
from bench.invalid import measure_invalid
from bench.measure import (
    measure_help,
    measure_naive,
    measure_posting,
    measure_rate,
    measure_read_and_dry_run,
    measure_run_overhead,
    measure_streaming,
    measure_validate_small,
)
from bench.report_writers import measure_report_writers
from bench.targets import table
from tests.prefect_server import running_prefect_server

RESULTS = Path(__file__).parent / "results.json"
SAMPLE = Path(__file__).parents[1] / "data" / "samples" / "oker-orders.csv"  # 300 rows


def main(argv: list[str] | None = None) -> int:
    """Generate a deterministic export, measure, print a table and write bench/results.json."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the export")
    parser.add_argument(
        "--quick",
        action="store_const",
        const=100_000,
        dest="rows",
        help="the quick mode: 100,000 rows",
    )
    parser.add_argument("--naive-rows", type=int, default=None, help="rows for the naive loop")
    parser.add_argument("--orders", type=int, default=400, help="orders posted to the sandbox")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="the shared limit two workers post under"
    )
    parser.add_argument("--chunk-rows", type=int, default=50_000, help="streaming chunk size")
    parser.add_argument(
        "--invalid-rows", type=int, default=200_000, help="rows of the all-invalid export"
    )
    parser.add_argument(
        "--report-rows", type=int, default=100_000, help="failed rows of the report writers"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="uniload-bench-") as tmp:
        export = Path(tmp) / "orders.csv"
        write_oker_export(export, rows=args.rows, seed=7)
        read, dry = measure_read_and_dry_run(export)
        naive = measure_naive(export, rows=args.naive_rows or min(args.rows, 100_000))
        stream = measure_streaming(export, chunk_rows=args.chunk_rows)
        post = measure_posting(
            Path(tmp), orders=args.orders, latency_ms=args.latency_ms, concurrency=args.concurrency
        )
        wide = measure_posting(
            Path(tmp), orders=args.orders * 2, latency_ms=args.latency_ms, concurrency=32
        )
        with running_prefect_server(Path(tmp) / "prefect-home") as api_url:
            rate = measure_rate(
                Path(tmp), orders=int(args.rate * 30), rate=args.rate, api_url=api_url
            )
            overhead = measure_run_overhead(Path(tmp), api_url=api_url)
        overhead_alone = measure_run_overhead(Path(tmp))  # Prefect's temporary server
        invalid = measure_invalid(Path(tmp), rows=args.invalid_rows)  # target: 200,000 in < 60 s
    help_seconds = measure_help()
    validate_small = measure_validate_small(SAMPLE)
    report = measure_report_writers(rows=args.report_rows)
    results = {
        "rows": args.rows,
        "dry_run_seconds": dry["seconds"],
        "dry_run_rows_per_second": round(args.rows / dry["seconds"]),
        "naive_seconds_scaled": naive["seconds_scaled"],
        "dry_run_vs_naive": round(naive["seconds_scaled"] / dry["seconds"], 1),
        "read_seconds": read["seconds"],
        "dry_run_vs_read": round(dry["seconds"] / read["seconds"], 2),
        "dry_run_stages": dry["stages"],
        "peak_rss_mb": dry["peak_rss_mb"],
        "streaming_chunk_rows": args.chunk_rows,
        "streaming_seconds": stream["seconds"],
        "streaming_peak_rss_mb": stream["peak_rss_mb"],
        "post_orders_per_second": post["orders_per_second"],
        "post_bound": post["bound"],
        "post_vs_bound": round(post["orders_per_second"] / post["bound"], 3),
        "post_floor_vs_bound": round(post["floor_orders_per_second"] / post["bound"], 3),
        "post_single_request_ms": post["single_request_ms"],
        "post_orders_per_second_32": wide["orders_per_second"],
        "post_bound_32": wide["bound"],
        "post_vs_bound_32": round(wide["orders_per_second"] / wide["bound"], 3),
        "post_floor_vs_bound_32": round(wide["floor_orders_per_second"] / wide["bound"], 3),
        "rate_limit": args.rate,
        "rate_achieved": rate["achieved"],
        "rate_vs_limit": round(rate["achieved"] / args.rate, 3),
        "busiest_second": rate["busiest_second"],
        "busiest_second_started": rate["busiest_second_started"],
        "rate_limit_capacity": rate["capacity"],
        "help_seconds": help_seconds,
        "validate_small_seconds": validate_small,
        "run_overhead_seconds": overhead,
        "run_overhead_temporary_server_seconds": overhead_alone,
        **report,
        **invalid,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print()
    print("\n".join(table(results)))
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
