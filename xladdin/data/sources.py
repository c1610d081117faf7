"""Opening a user's table file safely: CSV text encodings, workbook limits, parquet containers.

Every function here raises :class:`~xladdin.errors.DataError` with a message that names the file
and says what to do, never a decoder's or a parser's traceback.

* **CSV text** (:func:`csv_text`): UTF-8 (with or without BOM), GBK / GB18030 (what Chinese Excel
  and Wind save by default) and UTF-16 with a BOM (Excel's "Unicode text") are read, tried in that
  order: the first codec that decodes the file wins (deterministic; GB18030 is a superset of GBK and
  decodes a GBK file to the same text). Comma- or tab-separated (tab when the header row has tabs
  and no commas, as Excel's "Unicode text" writes). Anything else is refused naming the first byte
  that is not UTF-8 text.
* **Workbooks** (:func:`check_workbook`): the zip container is checked before openpyxl opens it:
  member count, declared uncompressed size, compression ratio, and no XML part may declare a DTD or
  entities (``<!DOCTYPE``/``<!ENTITY``). openpyxl itself parses through defusedxml (installed as a
  dependency) as a second line of defence. Every workbook xladdin opens with openpyxl (the weekly
  workbook of ``refresh``, the report ``send`` attaches, a ``--params`` workbook, ``doctor``'s) goes
  through :func:`open_workbook`: the same checks, and at most :data:`MAX_WORKBOOK_XML` bytes of XML,
  because openpyxl holds every cell of such a workbook as a Python object.
* **Workbook data** (:func:`check_sheets`): the sheets a table is read from may not be hidden, hold merged
  cells or formulas without a saved value: each would change what is read without a word.
* **Parquet** (:func:`check_parquet`): the magic bytes, and a message naming the file when pyarrow
  cannot read its footer.
"""
from __future__ import annotations

import codecs
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xladdin.errors import DataError

from .schema import TABLES
from .storefiles import MANIFEST

#: codecs tried in order for a CSV without a byte-order mark (GB18030 covers GBK and GB2312)
CSV_ENCODINGS = ("utf-8", "gb18030")
#: bytes of a CSV's start that decide its encoding before a reader sees it; the rest is checked
#: by the reader (pyarrow and pandas refuse invalid UTF-8), and a failure there re-decides over the
#: whole file
SNIFF_BYTES = 1 << 16

#: workbook limits (checked on the zip's central directory before any XML is parsed)
MAX_XLSX_MEMBERS = 10_000
MAX_XLSX_UNCOMPRESSED = 1 << 30          # 1 GiB of XML in all: far beyond a full Excel sheet of numbers
MAX_XLSX_RATIO = 200                     # uncompressed / compressed of one part (real sheets: 5-30)
RATIO_FLOOR = 1 << 20                    # parts smaller than 1 MiB uncompressed are not ratio-checked
MAX_XML_PROLOG = 1 << 20                 # bytes before an XML part's root element
#: XML in all (sheets, shared strings, styles ...) of a workbook opened whole by openpyxl (not a data
#: table read row by row): about a million cells, some 10 s and 0.5 GB to load; the weekly workbook holds
#: under 1 MiB, a full-scale one a few MiB
MAX_WORKBOOK_XML = 32 << 20
#: suffixes of the parts counted as XML
XML_PARTS = (".xml", ".rels", ".vml")

_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or another zip file",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Excel 97-2003 .xls file or a password-protected workbook",
    b"PAR1": "a parquet file",
}


def _kind(head: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    return None


@dataclass
class CsvText:
    """A CSV ready for the readers: ``source`` is the path when the file is UTF-8 already, else its
    text transcoded to UTF-8 bytes; ``encoding`` is what the file was (for messages)."""

    source: Path | bytes
    encoding: str
    delimiter: str = ","

    def header_line(self) -> str:
        """The first line as text (no BOM, no line break)."""
        if isinstance(self.source, bytes):
            head = self.source[:SNIFF_BYTES]
        else:
            with open(self.source, "rb") as fh:
                head = fh.read(SNIFF_BYTES)
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        return text.splitlines()[0] if text.strip() else ""


def _first_bad_byte(data: bytes, encoding: str) -> tuple[int, int] | None:
    """(offset, byte) of the first byte ``encoding`` cannot decode, or None when all of it decodes."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start, data[exc.start]
    return None


def _refuse(name: str, data: bytes) -> DataError:
    bad = _first_bad_byte(data, "utf-8") or (0, data[0])
    what = _kind(data[:8])
    hint = f"; it looks like {what}: give it the matching extension" if what else ""
    return DataError(f"{name}: not UTF-8, GBK or UTF-16 text (byte 0x{bad[1]:02x} at offset {bad[0]}){hint}; "
                     "save it as CSV UTF-8")


def _delimiter(header: str) -> str:
    return "\t" if "\t" in header and "," not in header else ","


def csv_text(path: Path, whole: bool = False) -> CsvText:
    """Decide a CSV's encoding (see the module docstring); transcode it to UTF-8 when it is not UTF-8.

    Only the first :data:`SNIFF_BYTES` decide unless ``whole``: a reader that then meets a byte that is
    not UTF-8 further down calls this again with ``whole=True``.
    """
    name = path.name
    with open(path, "rb") as fh:
        data = fh.read() if whole else fh.read(SNIFF_BYTES)
    if not data:
        raise DataError(f"{name}: the file is empty (0 bytes); expected a header row naming the columns")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = data if whole else path.read_bytes()
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"{name}: not valid UTF-16 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                            "save it as CSV UTF-8") from None
        return CsvText(text.encode("utf-8"), "utf-16", _delimiter(text.split("\n", 1)[0]))
    kind = _kind(data[:8])
    if kind is not None:
        raise DataError(f"{name}: this is {kind}, not CSV text; give it the matching extension "
                        "(.xlsx, .parquet) or export it as CSV")
    head = data[:4096]
    if head.count(0) > len(head) // 4:  # every other byte NUL: UTF-16 text that lost its byte-order mark
        raise DataError(f"{name}: looks like UTF-16 text without a byte-order mark (NUL bytes from offset "
                        f"{data.index(0)}); save it as CSV UTF-8, or as UTF-16 with its BOM")
    utf8 = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(utf8, final=whole)
    except UnicodeDecodeError:
        text = None
    if text is not None:
        return CsvText(path, "utf-8-sig" if utf8 is not data else "utf-8", _delimiter(text.split("\n", 1)[0]))
    data = data if whole else path.read_bytes()
    for enc in CSV_ENCODINGS[1:]:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return CsvText(text.encode("utf-8"), enc, _delimiter(text.split("\n", 1)[0]))
    raise _refuse(name, data)


def check_workbook(path: Path | bytes, label: str | None = None, max_xml: int | None = None) -> None:
    """Refuse a workbook that is not an .xlsx zip, or that breaks a limit, before openpyxl parses it.

    Limits: :data:`MAX_XLSX_MEMBERS` parts, :data:`MAX_XLSX_UNCOMPRESSED` bytes uncompressed in all,
    :data:`MAX_XLSX_RATIO` compression ratio per part (parts over :data:`RATIO_FLOOR`), ``max_xml``
    bytes of XML parts in all (when given), and no XML part with a document type or entity declaration
    (external entities, "billion laughs"); a part is XML by its name or its content (:func:`_is_xml_part`).
    The sizes are those of the zip's central directory; :mod:`zipfile` never inflates a part beyond its
    declared size (a part that lies fails its CRC check instead). ``path`` may be the workbook's bytes (a download; ``label`` names it).
    """
    if isinstance(path, bytes):
        name, head, source = label or "the workbook", path[:8], io.BytesIO(path)
    else:
        name, source = label or path.name, path
        with open(path, "rb") as fh:
            head = fh.read(8)
    if not head:
        raise DataError(f"{name}: the file is empty (0 bytes); expected an .xlsx workbook")
    if not head.startswith(b"PK\x03\x04") or not zipfile.is_zipfile(source):
        what = _kind(head)
        if what and what != "an Excel workbook or another zip file":
            raise DataError(f"{name}: this is {what}, not an .xlsx workbook; save it as .xlsx (Excel workbook)")
        raise DataError(f"{name}: not an .xlsx workbook (no zip container); save it as .xlsx or export CSV")
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_XLSX_MEMBERS:
                raise DataError(f"{name}: refused: {len(infos):,} parts in the workbook (limit {MAX_XLSX_MEMBERS:,})")
            total = sum(i.file_size for i in infos)
            if total > MAX_XLSX_UNCOMPRESSED:
                raise DataError(f"{name}: refused: {total:,} bytes uncompressed (limit {MAX_XLSX_UNCOMPRESSED:,} "
                                "bytes); a zip bomb, or split the data into several files / use CSV or parquet")
            for i in infos:
                if i.file_size > RATIO_FLOOR and i.file_size > MAX_XLSX_RATIO * max(i.compress_size, 1):
                    ratio = i.file_size / max(i.compress_size, 1)
                    raise DataError(f"{name}: refused: part {i.filename} expands {ratio:,.0f}x "
                                    f"({i.compress_size:,} -> {i.file_size:,} bytes; limit {MAX_XLSX_RATIO}x): a zip bomb?")
            xml_parts = _xml_parts(zf)
            xml = sum(i.file_size for i in xml_parts)
            if max_xml is not None and xml > max_xml:
                raise DataError(f"{name}: refused: {xml:,} bytes of XML (limit {max_xml:,} for a workbook opened "
                                "whole, about a million cells); an xladdin workbook holds a few MB at most: remove "
                                "large sheets you added, or keep data in CSV/parquet files (--data)")
            names = set(zf.namelist())
            for part in ("[Content_Types].xml", "xl/workbook.xml"):
                if part not in names:
                    raise DataError(f"{name}: a zip file but not an .xlsx workbook (no {part})")
            for i in xml_parts:
                _check_prolog(zf, i, name)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{name}: damaged .xlsx workbook ({exc})") from None
    except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encrypted members
        raise DataError(f"{name}: unreadable .xlsx workbook ({exc})") from None


def _xml_parts(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in zf.infolist() if _is_xml_part(zf, i)]


def workbook_xml_bytes(path: str | Path) -> int:
    """Bytes of XML of a workbook (its parts that are XML by name or content, :func:`_is_xml_part`, as the
    zip's directory states them): what :func:`open_workbook` holds against :data:`MAX_WORKBOOK_XML`."""
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in _xml_parts(zf))


def open_workbook(path: str | Path, label: str | None = None, **kwargs: Any) -> Any:
    """``openpyxl.load_workbook(path, **kwargs)`` after :func:`check_workbook` with at most
    :data:`MAX_WORKBOOK_XML` bytes of XML: how xladdin opens every workbook it reads with openpyxl.

    Raises
    ------
    FileNotFoundError
        No such file.
    DataError
        Not a workbook, a limit broken (the message names the file, the limit and what to do), or a
        workbook openpyxl cannot read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"workbook {path} not found")
    check_workbook(path, label, max_xml=MAX_WORKBOOK_XML)
    from openpyxl import load_workbook  # lazy: openpyxl is a measured start-up cost, only with a workbook
    from openpyxl.utils.exceptions import InvalidFileException  # lazy: as above
    try:
        return load_workbook(path, **kwargs)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{label or path.name}: not a readable .xlsx/.xlsm workbook ({exc})") from None


@dataclass(frozen=True)
class SheetInfo:
    """A sheet of a workbook as its XML states it: name, visibility and the part holding its cells."""

    name: str
    visible: bool
    part: str


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: cells named in one message (merged ranges, formulas without a saved value)
SHOWN_CELLS = 3


def workbook_sheets(path: Path) -> list[SheetInfo]:
    """The sheets of a workbook checked by :func:`check_workbook` (no DTD: ElementTree parses it safely),
    in workbook order: what ``pandas.read_excel`` reads as sheet 0, 1, ..."""
    from xml.etree import ElementTree as ET  # lazy: only for workbook data files
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels")) if "xl/_rels/workbook.xml.rels" in zf.namelist() \
            else None
    targets = {r.get("Id"): r.get("Target", "") for r in (rels if rels is not None else [])
               if r.tag == f"{_NS_PKG}Relationship"}
    out = []
    for sh in book.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sh.get(f"{_NS_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out.append(SheetInfo(sh.get("name", ""), sh.get("state", "visible") == "visible", part))
    return out


def _has_any(zf: zipfile.ZipFile, part: str, tokens: tuple[bytes, ...]) -> bool:
    """Whether part ``part`` holds any of ``tokens`` (a streamed byte search, chunk seams covered)."""
    keep = max(len(t) for t in tokens) - 1
    tail = b""
    with zf.open(part) as fh:
        while chunk := fh.read(1 << 22):
            data = tail + chunk
            if any(t in data for t in tokens):
                return True
            tail = data[-keep:]
    return False


def _sheet_cells(zf: zipfile.ZipFile, part: str) -> tuple[list[str], list[str]]:
    """(merged ranges, cells holding a formula without a saved value) of a sheet part, streamed."""
    from xml.etree import ElementTree as ET  # lazy: only for workbook data files
    merges: list[str] = []
    uncached: list[str] = []
    with zf.open(part) as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            if el.tag == f"{_NS_MAIN}c":
                if el.find(f"{_NS_MAIN}f") is not None:  # a formula: its saved value is <v> (empty only as text)
                    v = el.find(f"{_NS_MAIN}v")
                    if v is None or (not (v.text or "") and el.get("t") != "str"):
                        uncached.append(el.get("r", "?"))
                el.clear()
            elif el.tag == f"{_NS_MAIN}mergeCell":
                merges.append(el.get("ref", "?"))
            elif el.tag == f"{_NS_MAIN}row":
                el.clear()
    return merges, uncached


def check_sheets(path: Path, sheets: list[SheetInfo], label: str | None = None, hidden_ok: bool = False) -> None:
    """Refuse what would silently change the values read from ``sheets`` of workbook ``path``: a hidden sheet
    (a stale copy read instead of the sheet you see), merged cells (only the first holds the value, the
    others read as blank) and a formula without a saved value (Excel did not calculate it before saving,
    or a program wrote it: it reads as blank). Each message names the sheet and the cells. ``hidden_ok``:
    hidden sheets are read (a workbook with a sheet per table, as ``template --embed-data`` writes it)."""
    name = label or path.name
    for sh in sheets:
        if not sh.visible and not hidden_ok:
            raise DataError(f"{name}: sheet `{sh.name}` is hidden, and xladdin would read it as data; unhide it if "
                            "it holds the table, else delete it (xladdin reads only what you can see)")
    with zipfile.ZipFile(path) as zf:
        present = set(zf.namelist())
        for sh in sheets:
            if sh.part not in present or not _has_any(zf, sh.part, (b"<mergeCell ", b"<f>", b"<f ")):
                continue
            merges, uncached = _sheet_cells(zf, sh.part)
            if merges:
                shown = ", ".join(merges[:SHOWN_CELLS]) + (f" and {len(merges) - SHOWN_CELLS} more" if len(merges)
                                                          > SHOWN_CELLS else "")
                raise DataError(f"{name} sheet `{sh.name}`: merged cells {shown}: only the first cell of a merged "
                                "range holds its value, the others would read as blank; unmerge them and fill "
                                "every cell")
            if uncached:
                shown = ", ".join(uncached[:SHOWN_CELLS]) + (f" and {len(uncached) - SHOWN_CELLS} more"
                                                            if len(uncached) > SHOWN_CELLS else "")
                raise DataError(f"{name} sheet `{sh.name}`: cell(s) {shown} hold a formula without a saved value "
                                "(it would read as blank): open the file in Excel, let it calculate and save it, "
                                "or paste the values")


def data_files(source: Any) -> list[Path]:
    """The files a run reads as its data: the workbook itself, or a folder's table files (``<table>.*``)
    and a store's manifest; ``[]`` for no path (the embedded sample, a loaded market)."""
    if not isinstance(source, (str, os.PathLike)) or not str(source).strip():
        return []
    path = Path(source)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir()
                  if p.is_file() and (p.name.split(".")[0] in TABLES or p.name == MANIFEST))


def _is_xml_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """True when ``info`` is XML by its name (:data:`XML_PARTS`) or by its content (it starts with ``<`` after
    a byte-order mark and blanks): a reader follows the workbook's relationships whatever a part is called,
    so a sheet renamed ``sheet1.bin`` is parsed all the same and counts against the XML limits."""
    if info.filename.endswith(XML_PARTS):
        return True
    if info.file_size == 0 or info.is_dir():
        return False
    with zf.open(info) as fh:
        head = fh.read(64)
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        head = head.removeprefix(bom)
    return head.replace(b"\0", b"").lstrip().startswith(b"<")


def _check_prolog(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    """Refuse an XML part whose prolog (everything before the root element) declares a DTD or entities.

    XML allows ``<!DOCTYPE`` (and so entity declarations) only before the root element, so reading up
    to the root's start tag is enough; a prolog over :data:`MAX_XML_PROLOG` bytes is refused too.
    """
    seen = b""
    with zf.open(info) as fh:
        while len(seen) <= MAX_XML_PROLOG:
            chunk = fh.read(1 << 14)
            if not chunk:
                break
            seen += chunk
            root = _root_start(seen)
            if root is not None:
                seen = seen[:root]
                break
        else:
            raise DataError(f"{name}: refused: part {info.filename} has over {MAX_XML_PROLOG:,} bytes before its "
                            "first element")
    upper = seen.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise DataError(f"{name}: refused: part {info.filename} declares a DTD or entities (<!DOCTYPE/<!ENTITY>); "
                        "workbooks saved by Excel never do: re-save it from Excel or export CSV")


def _root_start(data: bytes) -> int | None:
    """Offset where the prolog of ``data`` ends: the root element's start tag (skipping ``<?...?>`` and
    comments), or the end of ``data`` at a ``<!`` declaration (the caller then refuses it); None when
    ``data`` ends inside the prolog."""
    i = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    while True:
        j = data.find(b"<", i)
        if j < 0 or j + 1 >= len(data):
            return None
        if data.startswith(b"<?", j):
            end, step = data.find(b"?>", j), 2
        elif data.startswith(b"<!--", j):
            end, step = data.find(b"-->", j), 3
        elif data.startswith(b"<!", j):
            return len(data)
        else:
            return j
        if end < 0:
            return None
        i = end + step


def check_parquet(path: Path) -> None:
    """Refuse a file that is not parquet (by its magic bytes), naming what it looks like."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise DataError(f"{path.name}: the file is empty (0 bytes); expected a parquet file")
    if not head.startswith(b"PAR1"):
        what = _kind(head)
        hint = f"this is {what}" if what else "no parquet magic bytes"
        raise DataError(f"{path.name}: not a parquet file ({hint}); give it the matching extension or re-export it")
