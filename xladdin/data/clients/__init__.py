"""Real data clients: canonical tables from tushare Pro or Wind (WindPy).

>>> from xladdin.data.clients import TushareClient, fetch_market          # doctest: +SKIP
>>> client = TushareClient.from_env()                                 # token from $TUSHARE_TOKEN
>>> market = fetch_market(client, ["etf_daily"], etfs=["510300.SH"], start="2024-01-01", end="2024-06-30")

The adapters are tested against fake clients shaped like the documented API answers, not
against the live services.
"""
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

SOURCES = {"tushare": TushareClient, "wind": WindClient}

__all__ = ["CITIC_L1", "DEFAULT_CATEGORY_RULES", "DEFAULT_INDEX_NAMES", "FETCH_ORDER", "CategoryRules", "DataClient",
           "SourceError", "fetch_market", "index_from_benchmark", "infer_split_ratio", "TushareClient", "WindClient",
           "SOURCES"]
