"""The fixed parts of an XLSX package: content types, relationships, workbook, styles, notes.

Only what the failure report uses: one or more sheets of inline strings, a bold header style
(1) and a highlighted-cell style (2), a frozen and filtered header, and cell notes (comments
with their VML shapes, as Excel needs both).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import numpy.typing as npt
import pandas as pd

MAIN: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
HIGHLIGHT_RGB: Final = "FFFFC7CE"
NOTE_AUTHOR: Final = "uniload"
SHAPES_PER_BLOCK: Final = 1024  # VML shape ids come in blocks of 1024 (o:idmap data)

STYLES: Final = (
    DECLARATION + f'<styleSheet xmlns="{MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    f'<fill><patternFill patternType="solid"><fgColor rgb="{HIGHLIGHT_RGB}"/>'
    '<bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
ROOT_RELS: Final = (
    DECLARATION + f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)


def content_types(sheets: int, with_notes: Sequence[bool]) -> str:
    """[Content_Types].xml for `sheets` worksheets, some with notes."""
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    notes_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
    parts = [
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet_type}"/>'
        for i in range(1, sheets + 1)
    ]
    parts += [
        f'<Override PartName="/xl/comments{i}.xml" ContentType="{notes_type}"/>'
        for i, notes in enumerate(with_notes, start=1)
        if notes
    ]
    return (
        DECLARATION + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="vml" '
        'ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(parts)
        + "</Types>"
    )


def workbook(names: Sequence[str], filters: Sequence[str]) -> str:
    """xl/workbook.xml: the sheets, and each sheet's filter range as Excel defines it."""
    sheets = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(quote_sheet(name))}!{absolute(ref)}</definedName>"
        for i, (name, ref) in enumerate(zip(names, filters, strict=True))
    )
    return (
        DECLARATION + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>"
        f"<definedNames>{defined}</definedNames></workbook>"
    )


def workbook_rels(sheets: int) -> str:
    """xl/_rels/workbook.xml.rels: the sheets and the styles."""
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, sheets + 1)
    )
    styles = f'<Relationship Id="rId{sheets + 1}" Type="{REL}/styles" Target="styles.xml"/>'
    return DECLARATION + f'<Relationships xmlns="{PKG_REL}">{rels}{styles}</Relationships>'


def sheet_rels(index: int) -> str:
    """xl/worksheets/_rels/sheetN.xml.rels of a sheet with notes."""
    return (
        DECLARATION + f'<Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL}/vmlDrawing" '
        f'Target="../drawings/vmlDrawing{index}.vml"/>'
        f'<Relationship Id="rId2" Type="{REL}/comments" Target="../comments{index}.xml"/>'
        "</Relationships>"
    )


BLOCK: Final = 20_000  # notes turned into XML text at a time


def comment_parts(
    rows: npt.NDArray[np.int64], columns: npt.NDArray[np.int64], texts: Sequence[str]
) -> Iterator[str]:
    """xl/commentsN.xml in pieces: a note per (0-based row, column, text), a block at a time."""
    yield (
        DECLARATION + f'<comments xmlns="{MAIN}"><authors><author>{NOTE_AUTHOR}</author>'
        "</authors><commentList>"
    )
    letters = np.array([column_letter(c) for c in range(int(columns.max(initial=0)) + 1)])
    for start in range(0, len(texts), BLOCK):
        end = start + BLOCK
        refs = letters.astype(object)[columns[start:end]] + _numbers(rows[start:end] + 1)
        pieces = np.empty((len(refs), 3), dtype=object)
        pieces[:, 0] = '<comment ref="' + refs
        pieces[:, 1] = _escaped(texts[start:end])
        pieces[:, 2] = "</t></r></text></comment>"
        pieces[:, 0] += '" authorId="0"><text><r><t xml:space="preserve">'
        yield "".join(pieces.ravel().tolist())
    yield "</commentList></comments>"


def shape_blocks(notes: int) -> int:
    """How many blocks of VML shape ids a sheet with `notes` notes takes."""
    return notes // SHAPES_PER_BLOCK + 1


def vml_parts(
    rows: npt.NDArray[np.int64], columns: npt.NDArray[np.int64], first_block: int
) -> Iterator[str]:
    """xl/drawings/vmlDrawingN.vml in pieces: a hidden note box per (0-based row, column).

    Shape ids are unique in the workbook: each sheet takes its own blocks from `first_block`.
    """
    blocks = ",".join(str(first_block + b) for b in range(shape_blocks(len(rows))))
    base = first_block * SHAPES_PER_BLOCK + 1
    yield (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{blocks}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
    )
    for start in range(0, len(rows), BLOCK):
        row, col = rows[start : start + BLOCK], columns[start : start + BLOCK]
        ids = _numbers(np.arange(base + start, base + start + len(row)))
        r, c = _numbers(row), _numbers(col)
        cells = [
            '<v:shape id="_x0000_s', ids, _SHAPE_HEAD, _numbers(col + 1), ", 15, ", r,
            ", 10, ", _numbers(col + 5), ", 15, ", _numbers(row + 5),
            ", 4</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>", r,
            "</x:Row><x:Column>", c, "</x:Column></x:ClientData></v:shape>",
        ]  # fmt: skip
        pieces = np.empty((len(row), len(cells)), dtype=object)
        for k, cell in enumerate(cells):
            pieces[:, k] = cell
        yield "".join(pieces.ravel().tolist())
    yield "</xml>"


_SHAPE_HEAD: Final = (
    '" type="#_x0000_t202" style="position:absolute;'
    'margin-left:80pt;margin-top:2pt;width:240pt;height:90pt;z-index:1;visibility:hidden" '
    'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
    '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
    '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
    '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
    "<x:Anchor>"
)


def _numbers(values: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Whole numbers (0 or more) as text, each distinct number turned into text once."""
    if not len(values):
        return np.array([], dtype=object)
    global _NUMBER_TEXTS
    if int(values.max()) >= len(_NUMBER_TEXTS):
        _NUMBER_TEXTS = np.array([str(n) for n in range(int(values.max()) * 2 + 1)], dtype=object)
    return _NUMBER_TEXTS[values]


_NUMBER_TEXTS: npt.NDArray[np.object_] = np.array([], dtype=object)


def _escaped(texts: Sequence[str]) -> npt.NDArray[np.object_]:
    """XML-escaped texts, each distinct text escaped once."""
    codes, uniques = pd.factorize(np.asarray(texts, dtype=object))
    return np.array([escape(t) for t in uniques], dtype=object)[codes]


def column_letter(index: int) -> str:
    """Excel's letters of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def quote_sheet(name: str) -> str:
    """A sheet name as a formula reference names it: 'it''s'."""
    return "'" + name.replace("'", "''") + "'"


def absolute(ref: str) -> str:
    """A1:I3 -> $A$1:$I$3."""
    start, end = ref.split(":")
    return ":".join(_absolute_cell(c) for c in (start, end))


def _absolute_cell(cell: str) -> str:
    letters = cell.rstrip("0123456789")
    return f"${letters}${cell[len(letters) :]}"
