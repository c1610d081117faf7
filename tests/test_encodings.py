"""How a CSV's encoding is decided (:func:`xladdin.data.sources.csv_text`), byte by byte."""
from __future__ import annotations

import codecs

import pytest

from xladdin.data.sources import SNIFF_BYTES, csv_text
from xladdin.errors import DataError

TEXT = "etf,name\n510300.SH,华泰柏瑞沪深300ETF\n"


def decoded(p) -> str:
    src = csv_text(p).source
    return (src if isinstance(src, bytes) else p.read_bytes()).decode("utf-8-sig")


@pytest.mark.parametrize("encoding, data", [
    ("utf-8", TEXT.encode("utf-8")),
    ("utf-8-sig", codecs.BOM_UTF8 + TEXT.encode("utf-8")),
    ("gb18030", TEXT.encode("gbk")),
    ("gb18030", TEXT.encode("gb18030")),
    ("utf-16", codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")),
    ("utf-16", codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be")),
])
def test_each_encoding_decodes_to_the_same_text(tmp_path, encoding, data):
    p = tmp_path / "etf_info.csv"
    p.write_bytes(data)
    assert csv_text(p).encoding == encoding
    assert decoded(p) == TEXT


def test_utf8_character_split_by_the_sniff_window_is_utf8(tmp_path):
    """A multi-byte character across the sniffed prefix's end must not make a UTF-8 file look like GBK."""
    pad = "a" * (SNIFF_BYTES - 3)
    p = tmp_path / "t.csv"
    p.write_bytes(f"x\n{pad}华\n".encode())
    assert p.read_bytes()[SNIFF_BYTES - 1:SNIFF_BYTES + 2] == "华".encode()  # straddles the window's end
    assert csv_text(p).encoding == "utf-8" and isinstance(csv_text(p).source, type(p))


def test_gbk_after_the_sniff_window_is_found_on_the_whole_file(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"x\n" + b"a" * SNIFF_BYTES + "\n华泰\n".encode("gbk"))
    assert csv_text(p).encoding == "utf-8"  # the start alone is plain ASCII
    whole = csv_text(p, whole=True)
    assert whole.encoding == "gb18030" and whole.source.decode("utf-8").endswith("华泰\n")


def test_refused_bytes_are_named_by_offset(tmp_path):
    p = tmp_path / "etf_info.csv"
    p.write_bytes(b"etf,name\n510300.SH,caf\xe9\n")
    with pytest.raises(DataError, match=r"etf_info.csv: not UTF-8, GBK or UTF-16 text \(byte 0xe9 at offset 22\)"):
        csv_text(p)


def test_tab_separated_header_sets_the_delimiter(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(codecs.BOM_UTF16_LE + TEXT.replace(",", "\t").encode("utf-16-le"))
    assert csv_text(p).delimiter == "\t"
    p.write_bytes(TEXT.encode("utf-8"))
    assert csv_text(p).delimiter == ","


def test_utf16_without_bom_and_zero_bytes(tmp_path):
    p = tmp_path / "etf_info.csv"
    p.write_bytes(TEXT.encode("utf-16-le"))
    with pytest.raises(DataError, match="etf_info.csv: looks like UTF-16 text without a byte-order mark"):
        csv_text(p)
    p.write_bytes(b"")
    with pytest.raises(DataError, match=r"etf_info.csv: the file is empty \(0 bytes\)"):
        csv_text(p)
