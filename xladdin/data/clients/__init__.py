"""Real data clients: canonical tables from AKShare (free), tushare Pro or Wind (WindPy).

>>> from xladdin.data.clients import make_client, fetch_market          # doctest: +SKIP
>>> client = make_client("akshare", timeout=20)
>>> market = fetch_market(client, ["etf_daily"], etfs=["510300.SH"], start="2024-01-01", end="2024-06-30")

:data:`SOURCES` is the one registry of sources: ``xladdin fetch`` and ``xladdin update`` list their
``--source`` choices and help from it and build clients with :func:`make_client`. A new source is one
client module plus one line here.

The tushare and AKShare adapters are tested by running the vendor library's own code with every HTTP
request answered at the transport layer (``tests/_transport.py``); Wind's against a fake ``w`` object.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from .akshare import AkshareClient
from .base import (
    CITIC_L1,
    DEFAULT_CATEGORY_RULES,
    DEFAULT_INDEX_NAMES,
    FETCH_ORDER,
    CategoryRules,
    DataClient,
    SourceError,
    fetch_market,
    index_from_benchmark,
    infer_split_ratio,
)
from .tushare import TushareClient
from .wind import WindClient


@dataclass(frozen=True)
class Source:
    """One data source: its client class, a one-line description and what the user needs for it."""

    name: str
    client: type
    summary: str
    needs: str

    def accepts(self, option: str) -> bool:
        """Whether the client's ``from_env`` takes keyword ``option`` (e.g. ``timeout``)."""
        params = inspect.signature(self.client.from_env).parameters
        return option in params or option in inspect.signature(self.client).parameters


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("akshare", AkshareClient, "AKShare and the exchanges' own ETF disclosures, free (Shenwan industries)",
           'the akshare extra: python -m pip install "<path or URL of the xladdin wheel>[akshare]"'),
    Source("tushare", TushareClient, "tushare Pro (CITIC industries)",
           "the tushare extra (as for akshare) and a token in TUSHARE_TOKEN"),
    Source("wind", WindClient, "Wind via WindPy", "a logged-in Wind terminal"),
)}


def make_client(source: str, **options):
    """The client of ``source`` from :data:`SOURCES`, built by its ``from_env``; ``options`` the client does not
    take (``timeout`` for Wind) or that are None are left out."""
    if source not in SOURCES:
        raise ValueError(f"unknown source `{source}`; use one of {', '.join(SOURCES)}")
    entry = SOURCES[source]
    kwargs = {k: v for k, v in options.items() if v is not None and entry.accepts(k)}
    return entry.client.from_env(**kwargs)


__all__ = ["CITIC_L1", "DEFAULT_CATEGORY_RULES", "DEFAULT_INDEX_NAMES", "FETCH_ORDER", "CategoryRules", "DataClient",
           "SourceError", "fetch_market", "index_from_benchmark", "infer_split_ratio", "AkshareClient",
           "TushareClient", "WindClient", "SOURCES", "Source", "make_client"]
