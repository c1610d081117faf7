"""Shared fixtures: the real canonical data (must exist) and the embedded sample market."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = ROOT.parent / "shared" / "data" / "real" / "canonical"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """../shared/data/real/canonical; fails loudly (never skips) when it is missing."""
    if not (REAL_DIR / "etf_daily.csv").is_file():
        pytest.fail(f"real canonical data missing: expected {REAL_DIR} (clone with ../shared beside the repo)")
    return REAL_DIR


@pytest.fixture(scope="session")
def real_market(real_data_dir):
    from xladdin.data import load_market
    return load_market(real_data_dir)


@pytest.fixture(scope="session")
def csi300_flow_corr(real_data_dir):
    """``(end) -> (corr, close)`` re-derived from the real CSVs with pandas alone, independently of xladdin:
    the M1 flows of the CSI 300 ETFs ((shares − previous shares) × NAV, 0 on a split day) summed per day,
    their 20-day rolling Pearson correlation with the index's daily return (M2), and the index closes,
    all up to ``end``."""
    import numpy as np
    import pandas as pd
    d = pd.read_csv(real_data_dir / "etf_daily.csv", parse_dates=["date"])
    info = pd.read_csv(real_data_dir / "etf_info.csv")
    d = d[d["etf"].isin(info.loc[info["tracked_index"] == "000300.SH", "etf"])].sort_values(["etf", "date"])
    prev = d.groupby("etf")["shares"].shift(1)
    d["flow"] = np.where(d["split_ratio"] != 1, 0.0, (d["shares"] - prev) * d["nav"])
    flows = d.pivot(index="date", columns="etf", values="flow")
    ix = pd.read_csv(real_data_dir / "index_daily.csv", parse_dates=["date"])
    closes = ix[ix["index"] == "000300.SH"].set_index("date")["close"].sort_index()

    def upto(end: str):
        flow = flows.loc[:end].sum(axis=1, min_count=1)
        close = closes.loc[:end]
        both = pd.concat([flow.rename("x"), close.pct_change().rename("y")], axis=1, join="inner").dropna()
        return both["x"].rolling(20).corr(both["y"]), close
    return upto


@pytest.fixture(scope="session")
def sample_market():
    from xladdin.sample import sample_market as make
    return make()


@pytest.fixture
def isolated_mail_env(tmp_path, monkeypatch):
    """No user config, no SMTP password from the developer's environment."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.delenv("XLADDIN_CONFIG", raising=False)
    monkeypatch.delenv("XLADDIN_SMTP_PASSWORD", raising=False)


def tiny_market(sample, start: str = "2026-01-05", end: str = "2026-09-30", n_stocks: int = 60):
    """A small market cut from the embedded sample for data-file tests: ``start``..``end``, every
    ``500 // n_stocks``-th stock (index weights renormalised to sum to 1), and without the sample's
    dates on which the Shanghai exchange was closed (the sample's calendar is approximate), so that
    it loads without a warning."""
    import pandas as pd
    from xladdin.checks import exchange_closed
    from xladdin.market import Market
    from xladdin.schema import TABLES
    stocks = sorted(sample.tables["stock_industry"]["stock"])[:: max(1, 500 // n_stocks)][:n_stocks]
    out = {}
    for name, df in sample.subset(start, end).tables.items():
        if "stock" in df.columns:
            df = df[df["stock"].isin(stocks)]
        col = TABLES[name].sorted_by
        if col is not None:
            days = pd.DatetimeIndex(df[col].unique())
            df = df[~df[col].isin(days[exchange_closed(days)])]
        if name == "index_weights":
            df = df.assign(weight=df["weight"] / df.groupby(["index", "date"])["weight"].transform("sum"))
        out[name] = df.reset_index(drop=True)
    return Market(out, source="tiny")


@pytest.fixture(scope="session")
def sample_cut(sample_market):
    """:func:`tiny_market` of the embedded sample as a cached callable: ``sample_cut(start=..., end=...,
    n_stocks=...)`` (read-only use: the same object is returned for the same arguments)."""
    import functools
    return functools.lru_cache(maxsize=None)(functools.partial(tiny_market, sample_market))


@pytest.fixture(scope="session")
def tiny_dir(sample_market, tmp_path_factory) -> Path:
    """:func:`tiny_market` written as UTF-8 CSV files (read-only use: copy files before changing them)."""
    from xladdin.data import write_market
    folder = tmp_path_factory.mktemp("tiny")
    write_market(tiny_market(sample_market), folder, "csv")
    return folder


@pytest.fixture(scope="session")
def tiny_short_dir(sample_market, tmp_path_factory) -> Path:
    """An even smaller :func:`tiny_market` (2026-06 .. 2026-09, 30 stocks) for tests that run every command."""
    from xladdin.data import write_market
    folder = tmp_path_factory.mktemp("tiny_short")
    write_market(tiny_market(sample_market, start="2026-06-01", n_stocks=30), folder, "csv")
    return folder
