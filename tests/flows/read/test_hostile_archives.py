"""Decompression bombs: archive limits hold in every mode, streaming included.

The bomb is about 3 MB on disk and unpacks to 3 GiB: an Oker header and row, then one
compressed MiB of "A" repeated as many gzip members (a .gz may hold several; every reader
joins them) -- one 3 GiB cell, which before the limit held in streaming mode grew the run
past 6 GB. The test writes it in milliseconds and never holds the unpacked bytes.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from flows.exceptions import UnreadableExport
from flows.read import sources
from flows.read.exports import iter_export_chunks, read_export
from tests.prefect_server import PrefectServer

MiB = 1 << 20
UNPACKED_MIB = 3 << 10  # 3 GiB
HEADER = b"Order ID,Order Item ID,SKU,Quantity,Selling Price\n"
PEAK_MB = 600  # Prefect and pandas alone take about 250 MB
ROW = b"OKR000000001,OKI00000000101,OKB-EARB-MRN,1,2049.00\n"


def gz_bomb(path: Path, mib: int = UNPACKED_MIB, block: bytes = b"A" * MiB) -> Path:
    """A .gz of an Oker header and row, then ``mib`` times ``block``, member by member."""
    member = gzip.compress(block, compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress(HEADER + ROW))
        for _ in range(mib):
            out.write(member)
    return path


def zip_bomb(path: Path, mib: int) -> Path:
    """A .zip whose one CSV unpacks to ``mib`` MiB, written as a stream."""
    block = b"A" * MiB
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("orders.csv", "w", force_zip64=True) as member,
    ):
        member.write(HEADER + ROW)
        for _ in range(mib):
            member.write(block)
    return path


def assert_bomb_refused(error: pytest.ExceptionInfo[UnreadableExport], name: str) -> None:
    text = str(error.value)
    assert text.startswith(f"{name}: unpacks to more than "), text
    assert f"{sources.MAX_RATIO}x its packed size" in text and "decompression bomb" in text
    assert "Fix: " in text and "unpack it yourself" in text


@pytest.mark.parametrize("chunk_rows", [None, 50_000], ids=["whole", "streamed"])
def test_a_gz_bomb_is_refused_in_every_mode_before_it_fills_the_disk(
    tmp_path: Path, chunk_rows: int | None
) -> None:
    bomb = gz_bomb(tmp_path / "orders.csv.gz")
    assert bomb.stat().st_size < 4 * MiB

    def read() -> object:
        if chunk_rows is None:
            return read_export(bomb)
        return list(iter_export_chunks(bomb, chunk_rows=chunk_rows))

    with pytest.raises(UnreadableExport) as error:
        read()
    assert_bomb_refused(error, "orders.csv.gz")
    limit = max(sources.RATIO_FLOOR, sources.MAX_RATIO * bomb.stat().st_size)
    assert f"more than {limit:,} bytes" in str(error.value)


def test_a_zip_bomb_is_refused_when_streamed(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "orders.zip", mib=200)
    with pytest.raises(UnreadableExport) as error:
        list(iter_export_chunks(bomb, chunk_rows=50_000))
    assert_bomb_refused(error, "orders.zip:orders.csv")


def test_a_well_packed_export_under_the_floor_is_still_read(tmp_path: Path) -> None:
    rows = ROW * (MiB // len(ROW))
    export = gz_bomb(tmp_path / "orders.csv.gz", mib=8, block=rows)  # 300x, only 8 MiB
    assert export.stat().st_size * sources.MAX_RATIO < 8 * MiB
    chunks = list(iter_export_chunks(export, chunk_rows=50_000))
    assert sum(len(c.table) for c in chunks) == 1 + 8 * (MiB // len(ROW))


@pytest.mark.slow
def test_a_streamed_run_of_a_bomb_stops_in_one_line_with_bounded_memory(
    tmp_path: Path, prefect_server: PrefectServer
) -> None:
    bomb = gz_bomb(tmp_path / "orders.csv.gz")
    command = [
        sys.executable, "-m", "flows.cli.main", "run", str(bomb), "--chunk-rows", "50000",
        "--profile", "oker", "--dry-run", "--report-dir", str(tmp_path / "reports"),
    ]  # fmt: skip
    env = prefect_server.env(UNILOAD_HOME=str(tmp_path))
    with (tmp_path / "out.txt").open("wb") as out, (tmp_path / "err.txt").open("wb") as err:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=tmp_path)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
    child.returncode = os.waitstatus_to_exitcode(status)
    said_all = (tmp_path / "err.txt").read_text()
    text = (tmp_path / "out.txt").read_text() + said_all
    assert child.returncode == 1, text
    assert "Traceback" not in text and "MemoryError" not in text
    [said] = [line for line in said_all.splitlines() if line.startswith("uniload: ")]
    assert "orders.csv.gz: unpacks to more than" in said and "decompression bomb" in said, said
    assert "Fix: " in said
    peak_mb = usage.ru_maxrss / 1024  # kB on Linux
    assert peak_mb < PEAK_MB, f"peak RSS {peak_mb:.0f} MB"
    assert not list(tmp_path.glob("reports/*/summary.json"))  # nothing pretends to be a report
