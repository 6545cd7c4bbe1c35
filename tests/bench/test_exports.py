"""The export generator: same arguments, same bytes; true facts; samples that regenerate exactly."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bench.exports import (
    OKER_HEADER,
    generate_orders,
    main,
    oker_text,
    render_oker,
    write_oker_export,
)
from bench.samples import FIXTURES, SAMPLES
from flows.read.profiles import load_profiles
from transforms.detect import detect

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"--samples": REPO / "data" / "samples", "--fixtures": REPO / "tests/fixtures/exports"}
SETS = {"--samples": SAMPLES, "--fixtures": FIXTURES}
EXPORTS = [
    (flag, spec.name)
    for flag, samples in SETS.items()
    for files in samples.values()
    for spec in files
]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(path: Path) -> list[list[str]]:
    """Every row of an export as text, header first (row i of the list = spreadsheet row i+1)."""
    if path.suffix == ".xlsx":
        sheet = load_workbook(path, read_only=True).active
        return [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t" if path.suffix == ".txt" else ","))


def test_same_arguments_give_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = write_oker_export(tmp_path / "a.csv", rows=3000, bad_share=0.05)
    again = write_oker_export(tmp_path / "b.csv", rows=3000, bad_share=0.05)
    write_oker_export(tmp_path / "c.csv", rows=3000, bad_share=0.05, seed=8)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    assert [(c.row, c.column) for c in first.bad] == [(c.row, c.column) for c in again.bad]


def test_facts_tell_the_rows_orders_and_units_in_the_file(tmp_path: Path) -> None:
    facts = write_oker_export(tmp_path / "orders.csv", rows=5000, start_order=41)
    header, *body = _table(tmp_path / "orders.csv")
    assert header == list(OKER_HEADER)
    assert len(body) == facts.rows == facts.items == 5000
    assert len({row[0] for row in body}) == facts.orders
    assert sum(int(row[OKER_HEADER.index("Quantity")]) for row in body) == facts.units
    assert 1.8 < facts.rows / facts.orders < 2.2  # a million rows is about 500k orders
    assert body[0][0] == "OKR000000041"
    assert (facts.bad, facts.bad_orders, facts.bad_rows) == ((), 0, ())


def test_listed_bad_cells_are_exactly_the_cells_that_differ_from_the_clean_export(
    tmp_path: Path,
) -> None:
    write_oker_export(tmp_path / "clean.csv", rows=4000, seed=3)
    facts = write_oker_export(tmp_path / "dirty.csv", rows=4000, seed=3, bad_share=0.03)
    clean, dirty = _table(tmp_path / "clean.csv"), _table(tmp_path / "dirty.csv")
    changed = {
        (i + 1, OKER_HEADER[j])
        for i, (was, now) in enumerate(zip(clean, dirty, strict=True))
        for j, (a, b) in enumerate(zip(was, now, strict=True))
        if a != b
    }
    assert len(facts.bad) > 50
    assert changed == {(cell.row, cell.column) for cell in facts.bad}
    assert facts.bad_orders == len({dirty[row - 1][0] for row in facts.bad_rows})
    assert {cell.kind for cell in facts.bad} >= {"missing_pincode", "bad_date", "bad_price"}


def test_fast_text_is_what_the_csv_writer_makes_of_the_rows(tmp_path: Path) -> None:
    cache: dict[object, str] = {}
    path = tmp_path / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        fast = []
        for order in generate_orders(5, rows=3000):
            writer.writerows(render_oker(order))
            fast.append(oker_text(order, cache))
    assert path.read_text(encoding="utf-8") == "".join(fast)


@pytest.mark.parametrize("flag", sorted(FOLDERS))
def test_committed_files_regenerate_byte_for_byte(tmp_path: Path, flag: str) -> None:
    assert main([flag, str(tmp_path)]) == 0
    committed = {p.name: p.read_bytes() for p in FOLDERS[flag].iterdir()}
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(made) == sorted(committed)
    assert [name for name in made if made[name] != committed[name]] == []


@pytest.mark.parametrize(("flag", "name"), EXPORTS)
def test_each_export_is_detected_as_its_marketplace(flag: str, name: str) -> None:
    header = _table(FOLDERS[flag] / name)[0]
    assert detect(header, load_profiles().values()).name == name.split("-")[0]


def _expected(flag: str) -> list[tuple[str, list[dict[str, str | int]]]]:
    return [
        (group, json.loads((FOLDERS[flag] / f"{group}.expected.json").read_text("utf-8")))
        for group in SETS[flag]
    ]


@pytest.mark.parametrize("flag", sorted(FOLDERS))
def test_expected_cells_cover_whole_orders_and_name_real_cells(flag: str) -> None:
    profiles = load_profiles()
    expected = _expected(flag)
    assert expected, flag  # a loop over no expectations would check nothing
    for group, entries in expected:
        assert entries, group
        by_file = defaultdict(list)
        for entry in entries:
            by_file[str(entry["file"])].append(entry)
        for file, listed in by_file.items():
            header, *body = _table(FOLDERS[flag] / file)
            order_column = header.index(profiles[group.split("-")[0]].headers("order_id")[0])
            rows = {int(e["row"]) for e in listed}
            bad_orders = {body[r - 2][order_column] for r in rows}
            in_bad_orders = {i + 2 for i, row in enumerate(body) if row[order_column] in bad_orders}
            assert rows == in_bad_orders, f"{file}: an order is listed only in part"
            for e in listed:
                assert e["column"] in header or e["kind"] == "order_not_sent"
                if str(e["kind"]).startswith("missing_"):
                    assert body[int(e["row"]) - 2][header.index(str(e["column"]))] == ""


@pytest.mark.parametrize("flag", sorted(FOLDERS))
def test_fixable_cells_hold_the_untidy_value(flag: str) -> None:
    fixes = json.loads((FOLDERS[flag] / "oker-orders.fixes.json").read_text("utf-8"))
    assert {f["column"] for f in fixes} >= {"Phone", "State", "Country", "Customer Name", "SKU"}
    tables = {name: _table(FOLDERS[flag] / name) for name in {f["file"] for f in fixes}}
    for fix in fixes:
        header, *body = tables[fix["file"]]
        assert body[fix["row"] - 2][header.index(fix["column"])] == fix["value"] != fix["fixed"]


def test_samples_of_one_run_never_share_an_order_id() -> None:
    profiles = load_profiles()
    seen: dict[str, str] = {}
    for files in SAMPLES.values():
        for spec in files:
            header, *body = _table(FOLDERS["--samples"] / spec.name)
            column = header.index(profiles[spec.name.split("-")[0]].headers("order_id")[0])
            for order_id in {row[column] for row in body}:
                assert seen.setdefault(order_id, spec.name) == spec.name, order_id
    assert len(seen) > 250
