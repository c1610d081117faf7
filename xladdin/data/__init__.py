"""Data in (layer 1): the canonical tables, how they are read, checked and held.

* :mod:`~xladdin.data.schema` — the canonical tables and their columns;
* :mod:`~xladdin.data.sources` — file readers (CSV encodings, safe .xlsx, parquet);
* :mod:`~xladdin.data.checks` — the validation rules;
* :mod:`~xladdin.data.loaders` — ``load_market`` / ``open_market`` / ``validate_market`` / ``write_market``;
* :mod:`~xladdin.data.market` — the :class:`~xladdin.data.market.Market`; :mod:`~xladdin.data.views` — its wide
  views (the fast pivot, the codes of its columns), built once per run inside ``views.shared``;
* :mod:`~xladdin.data.calendar` — the SSE trading calendar;
* :mod:`~xladdin.data.sample` — the embedded sample market; :mod:`~xladdin.data.clients` — AKShare, Tushare, Wind;
* :mod:`~xladdin.data.store` — the local data store ``xladdin update`` keeps; :mod:`~xladdin.data.storefiles` — its
  work folder and atomic commit.

The loaders' functions are importable from here (``from xladdin.data import load_market``), as before.
"""
from __future__ import annotations

import importlib

#: the loaders' public functions, importable as ``xladdin.data.<name>``
LOADER_NAMES = frozenset({
    "RawTable", "read_table_files", "read_workbook_tables", "coerce_table", "check_table", "key_codes",
    "Typed", "type_order", "master_codes", "type_table", "seed_codes", "finish_table", "load_market",
    "data_source", "open_market", "type_tables", "validate_market", "write_market",
    "OPTIONAL_DEFAULTS", "NEEDED_BY", "LOGGED_WARNINGS", "MASTERS",
})

__all__ = sorted(LOADER_NAMES)


def __getattr__(name: str):
    """``xladdin.data.load_market`` and the loaders' other names, imported on first use."""
    if name in LOADER_NAMES:
        return getattr(importlib.import_module(f"{__name__}.loaders"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
