"""Data in (layer 1): the canonical tables, how they are read, checked and held.

* :mod:`~xladdin.data.schema` — the canonical tables and their columns;
* :mod:`~xladdin.data.sources` — file readers (CSV encodings, safe .xlsx, parquet);
* :mod:`~xladdin.data.checks` — the validation rules;
* :mod:`~xladdin.data.loaders` — ``load_market`` / ``open_market`` / ``validate_market`` / ``write_market``; a load
  reads (:mod:`~xladdin.data.readers`: :mod:`~xladdin.data.parquetfile`, :mod:`~xladdin.data.csvfile`,
  :mod:`~xladdin.data.wide`, into a :mod:`~xladdin.data.rawtable`), types (:mod:`~xladdin.data.coerce`), checks and
  orders (:mod:`~xladdin.data.typed`, :mod:`~xladdin.data.keys`) each table;
* :mod:`~xladdin.data.market` — the :class:`~xladdin.data.market.Market`; :mod:`~xladdin.data.views` — its wide
  views (the fast pivot, the codes of its columns), built once per run inside ``views.shared``;
* :mod:`~xladdin.data.calendar` — the SSE trading calendar;
* :mod:`~xladdin.data.sample` — the embedded sample market; :mod:`~xladdin.data.clients` — AKShare, Tushare, Wind;
* :mod:`~xladdin.data.store` — the local data store ``xladdin update`` keeps; :mod:`~xladdin.data.storefiles` — its
  work folder and atomic commit.

The loading functions are importable from here (``from xladdin.data import load_market``): :data:`LOADER_NAMES`
says which module holds each.
"""
from __future__ import annotations

import importlib

#: the loading's public names, importable as ``xladdin.data.<name>``, and the module of this package holding each
LOADER_NAMES = {
    **dict.fromkeys(("load_market", "data_source", "data_dir_from", "open_market", "type_tables", "validate_market",
                     "write_market", "LOGGED_WARNINGS", "SAMPLE_MARKER", "SAMPLE_MARKER_TEXT", "SAMPLE_SHEET",
                     "sample_marked", "load_sheets", "map_in_order"), "loaders"),
    **dict.fromkeys(("RawTable",), "rawtable"),
    **dict.fromkeys(("read_table_files", "read_workbook_tables", "tables_from_sheets", "frame_from_cells"), "readers"),
    **dict.fromkeys(("coerce_table", "OPTIONAL_DEFAULTS"), "coerce"),
    **dict.fromkeys(("check_table", "key_codes", "finish_table"), "keys"),
    **dict.fromkeys(("Typed", "type_order", "master_codes", "type_table", "seed_codes", "NEEDED_BY", "MASTERS"),
                    "typed"),
}

__all__ = sorted(LOADER_NAMES)


def __getattr__(name: str):
    """``xladdin.data.load_market`` and the loading's other names, imported on first use."""
    if name in LOADER_NAMES:
        return getattr(importlib.import_module(f"{__name__}.{LOADER_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
