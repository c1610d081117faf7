"""Shared fixtures and helpers of the test suite (no test module imports another).

- data: the real canonical data (must exist), the real ETF and index series the akshare bodies are filled
  with, the embedded sample market and small cuts of it, the constructed markets of the M11/M13 tests;
- workbooks: one weekly computation on the sample per language and process (``workbook_inputs``), and
  LibreOffice headless (``libreoffice``; a test that uses it is marked ``slow``);
- mail: an environment without the developer's configuration;
- Python: a real interpreter older than xladdin's minimum, when the machine has one (``older_python``).

The ``_*.py`` modules and ``_cores_ref/`` beside this file are independent reference implementations,
each used by one test module (``_convert_ref``: udfs/_convert; ``_cores_ref``: the pinned numeric cores;
``_xlremote``: xlwings' remote engine driver).
"""
from __future__ import annotations

import copy
import functools
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market

# bound now: patch_compute replaces the module's
from xladdin.workbook.weekly import compute_weekly as _real_compute_weekly

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
def real_etfs(real_data_dir):
    """The real series of the five ETFs behind the akshare bodies (``tests/_akshare_bodies.py``: ``RealETFs``);
    a test that changes one puts it back."""
    from _akshare_bodies import RealETFs
    return RealETFs(real_data_dir)


@pytest.fixture(scope="session")
def real_shenwan(real_data_dir):
    """Shenwan trend rows behind the akshare industry_daily bodies (``tests/_akshare_bodies.py``: ``RealShenwan``:
    real closes, synthesized volume and amount); a test that changes one puts it back."""
    from _akshare_bodies import RealShenwan
    return RealShenwan(real_data_dir)


@pytest.fixture(scope="session")
def real_index_closes(real_data_dir) -> dict:
    """CSI 300 and ChiNext closes of the real index_daily.csv, by code (``_akshare_bodies.index_closes``)."""
    from _akshare_bodies import index_closes
    return index_closes(real_data_dir)


@pytest.fixture(scope="session")
def csi300_flow_corr(real_data_dir):
    """``(end) -> (corr, close)`` re-derived from the real CSVs with pandas alone, independently of xladdin:
    the M1 flows of the CSI 300 ETFs ((shares − previous shares) × NAV, 0 on a split day) summed per day,
    their 20-day rolling Pearson correlation with the index's daily return (M2), and the index closes,
    all up to ``end``."""
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
    from xladdin.data.sample import sample_market as make
    return make()


@pytest.fixture
def real_csv_copy(real_data_dir, tmp_path) -> Path:
    """A copy of the real canonical tables (CSV) in ``tmp_path/data``, for a test that edits them or points
    commands at them (the originals in ../shared stay untouched)."""
    d = tmp_path / "data"
    d.mkdir()
    for f in real_data_dir.glob("*.csv"):
        shutil.copyfile(f, d / f.name)
    return d


@pytest.fixture
def smtpd():
    """``start(handler, **controller_kwargs) -> port``: a real aiosmtpd server on 127.0.0.1; every one is stopped
    afterwards."""
    from _net import free_port
    from aiosmtpd.controller import Controller  # lazy: only the mail tests need aiosmtpd (they importorskip it)

    controllers = []

    def start(handler, **kwargs) -> int:
        port = free_port()  # Controller(port=0) does not work: it probes the literal port
        ctl = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        ctl.start()
        controllers.append(ctl)
        return port

    yield start
    for ctl in controllers:
        ctl.stop()


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
    from xladdin.data.checks import exchange_closed
    from xladdin.data.schema import TABLES
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


# ------------------------------------------------------------------------------- constructed markets
def dashboard_market(seed: int = 1, start: str = "2020-01-06", end: str = "2025-06-30") -> Market:
    """3 industries x 2 stocks, 2 broad indices, 3 ETFs (one per category), every M13 table.

    Northbound holdings are daily to 2024-08-16 and quarterly after.
    """
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(start, end)
    n = len(days)
    stocks = ["600001.SH", "600002.SH", "000003.SZ", "000004.SZ", "300005.SZ", "300006.SZ"]
    si = pd.DataFrame({"stock": stocks, "industry": ["I1", "I1", "I2", "I2", "I3", "I3"],
                       "industry_name": ["银行", "银行", "电子", "电子", "医药", "医药"]})
    close = pd.DataFrame(10 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, 6)), axis=0)), index=days, columns=stocks)
    amount = pd.DataFrame(rng.uniform(1e8, 3e8, (n, 6)), index=days, columns=stocks)
    stock_daily = pd.concat({"close": close, "amount": amount}, axis=1).stack(future_stack=True).reset_index()
    stock_daily.columns = ["date", "stock", "close", "amount"]
    bal = pd.DataFrame(1e9 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 6)), axis=0)), index=days, columns=stocks)
    fbuy = pd.DataFrame(rng.uniform(1e7, 2e7, (n, 6)), index=days, columns=stocks)
    margin = pd.concat({"financing_balance": bal, "financing_buy": fbuy, "financing_repay": fbuy}, axis=1)
    margin = margin.stack(future_stack=True).reset_index()
    margin.columns = ["date", "stock", "financing_balance", "financing_buy", "financing_repay"]
    held = pd.DataFrame(1e7 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 6)), axis=0)), index=days, columns=stocks)
    cut = pd.Timestamp("2024-08-16")
    qe = pd.DatetimeIndex([d for d in pd.Series(days, index=days).groupby(days.to_period("Q")).max() if d > cut])
    held = held.loc[days[days <= cut].union(qe)]
    held.iloc[5, 1] = np.nan                                   # a stock missing on one holdings date -> 0
    nb = held.stack().rename("shares_held").reset_index()
    nb.columns = ["date", "stock", "shares_held"]
    nb = nb.dropna(subset=["shares_held"]).reset_index(drop=True)   # absent row, not an empty value
    nb["float_ratio"] = nb["shares_held"] / 1e9
    nb["held_value"] = np.nan
    me = pd.Series(days, index=days).groupby(days.to_period("M")).max().to_numpy()
    w = []
    for d in me:
        w += [(d, "000300.SH", s, 0.25) for s in stocks[:4]]
        w += [(d, "399006.SZ", s, 0.5) for s in stocks[4:]]
    weights = pd.DataFrame(w, columns=["date", "index", "stock", "weight"])
    info = pd.DataFrame({"etf": ["510300.SH", "512880.SH", "512890.SH"],
                         "name": ["300ETF", "证券ETF", "红利ETF"],
                         "tracked_index": ["000300.SH", "399006.SZ", "000300.SH"],
                         "category": ["broad", "sector_theme", "strategy_style"], "list_date": pd.NaT})
    etfs = list(info["etf"])
    shares = pd.DataFrame(1e9 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 3)), axis=0)), index=days, columns=etfs)
    nav = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.01, (n, 3)), axis=0)), index=days, columns=etfs)
    ed = pd.concat({"shares": shares, "nav": nav, "close": nav}, axis=1).stack(future_stack=True).reset_index()
    ed.columns = ["date", "etf", "shares", "nav", "close"]
    ed["split_ratio"] = 1.0
    ind_close = pd.DataFrame(1000 * np.exp(np.cumsum(rng.normal(0, 0.015, (n, 3)), axis=0)), index=days,
                             columns=["I1", "I2", "I3"])
    ind = ind_close.stack().rename("close").reset_index()
    ind.columns = ["date", "industry", "close"]
    idx_close = pd.DataFrame(3000 * np.exp(np.cumsum(rng.normal(0, 0.012, (n, 2)), axis=0)), index=days,
                             columns=["000300.SH", "399006.SZ"])
    idx = idx_close.stack().rename("close").reset_index()
    idx.columns = ["date", "index", "close"]
    return Market({"etf_info": info, "etf_daily": ed, "index_weights": weights, "stock_industry": si,
                   "stock_daily": stock_daily, "margin_daily": margin, "northbound_holdings": nb,
                   "industry_daily": ind, "index_daily": idx}, source="constructed")


@pytest.fixture(scope="session")
def make_dashboard_market():
    """:func:`dashboard_market` (M13 tests and the ``dashboard`` command's)."""
    return dashboard_market


def rotation_market(seed: int = 0, start: str = "2022-01-03", end: str = "2025-03-31",
                quarterly_after: str | None = "2024-08-16") -> Market:
    """6 ETFs on 4 indices of 5 stocks; northbound daily then quarterly after ``quarterly_after``."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(start, end)
    etfs = [f"51000{i}.SH" for i in range(6)]
    idx = ["IDX1.SH", "IDX1.SH", "IDX2.SH", "IDX3.SH", "IDX4.SH", "IDX4.SH"]
    info = pd.DataFrame({"etf": etfs, "name": [f"ETF{i}" for i in range(6)], "tracked_index": idx,
                         "category": ["broad", "broad", "sector_theme", "sector_theme", "strategy_style", "other"],
                         "list_date": pd.NaT})
    stocks = [f"{600000 + i}.SH" for i in range(12)]
    me = pd.Series(days, index=days).groupby(days.to_period("M")).max().to_numpy()
    rows = []
    for k, ix in enumerate(sorted(set(idx))):
        cons = stocks[k * 2:k * 2 + 5]
        for d in me:
            w = rng.uniform(0.5, 1.5, len(cons))
            rows += [(d, ix, s, x) for s, x in zip(cons, w / w.sum())]
    weights = pd.DataFrame(rows, columns=["date", "index", "stock", "weight"])
    fr = np.clip(0.05 + np.cumsum(rng.normal(0, 0.002, (len(days), len(stocks))), axis=0), 0, None)
    frdf = pd.DataFrame(fr, index=days, columns=stocks)
    if quarterly_after is not None:
        cut = pd.Timestamp(quarterly_after)
        qe = pd.DatetimeIndex([d for d in pd.Series(days, index=days).groupby(days.to_period("Q")).max() if d > cut])
        frdf = frdf.loc[days[days <= cut].union(qe)]
    nb = frdf.stack().rename("float_ratio").reset_index()
    nb.columns = ["date", "stock", "float_ratio"]
    nb["shares_held"] = nb["float_ratio"] * 1e8
    nb["held_value"] = nb["shares_held"] * 10
    navdf = pd.DataFrame(np.cumprod(1 + rng.normal(0.0003, 0.012, (len(days), 6)), axis=0), index=days, columns=etfs)
    split = pd.DataFrame(1.0, index=days, columns=etfs)
    split.loc[days[300], etfs[2]] = 2.0
    navdf.loc[days[300]:, etfs[2]] /= 2.0
    shares = pd.DataFrame(rng.uniform(1e8, 2e8, (len(days), 6)), index=days, columns=etfs)
    shares.loc[days[300]:, etfs[2]] *= 2.0  # the 2:1 split doubles the units (a split_ratio needs the share jump)
    shares.loc[days[300], etfs[2]] = shares.loc[days[299], etfs[2]] * 2.0
    ed = pd.concat({"shares": shares, "nav": navdf, "close": navdf, "split_ratio": split}, axis=1).stack(future_stack=True)
    ed = ed.reset_index().rename(columns={"level_0": "date", "level_1": "etf"})
    ed = ed[["date", "etf", "shares", "nav", "close", "split_ratio"]]
    return Market({"etf_info": info, "etf_daily": ed, "index_weights": weights, "northbound_holdings": nb},
                  source="test")


@pytest.fixture(scope="session")
def make_rotation_market():
    """:func:`rotation_market` (M11 tests and the ``backtest northbound`` command's)."""
    return rotation_market


# ------------------------------------------------------------------------------- workbook inputs
@functools.cache
def _sample_weekly(language: str):
    from xladdin.data.sample import sample_market
    from xladdin.workbook.params import default_params
    return _real_compute_weekly(sample_market(), default_params().replace(language=language))


def sample_weekly(language: str = "zh"):
    """A deep copy of the WeeklyResult of the sample for ``language``, computed once per process (tests
    may modify it)."""
    return copy.deepcopy(_sample_weekly(language))


def patch_compute(monkeypatch, result=None, calls: list | None = None):
    """Make ``xladdin.workbook.weekly.compute_weekly`` return ``result`` (default: the cached zh result of the
    sample); ``calls`` receives the Params each call was made with. Returns the replacement."""
    import xladdin.workbook.weekly as W

    def fake(market, params=None, asof=None, progress=None):
        if calls is not None:
            calls.append(params)
        res = result if result is not None else sample_weekly()  # one computation; language only changes labels
        if progress is not None:
            progress("computed")
        return res

    monkeypatch.setattr(W, "compute_weekly", fake)
    return fake


def build_template_cached(out, **kwargs):
    """``xladdin.workbook.template.build_template(out, market=None, **kwargs)`` with the cached weekly tables (no
    computation); returns ``out``."""
    from xladdin.workbook.template import build_template
    mp = pytest.MonkeyPatch()
    try:
        patch_compute(mp)
        build_template(out, market=None, **kwargs)
    finally:
        mp.undo()
    return out


@pytest.fixture(scope="session")
def workbook_inputs():
    """The workbook tests' inputs: ``weekly(language)`` (:func:`sample_weekly`), ``patch_compute(monkeypatch,
    result=None, calls=None)`` and ``build_template(out, **kwargs)`` (:func:`build_template_cached`)."""
    return types.SimpleNamespace(weekly=sample_weekly, patch_compute=patch_compute, build_template=build_template_cached)


# ------------------------------------------------------------------------------- LibreOffice headless
# Every conversion gets a brand-new user profile (``-env:UserInstallation``) seeded with a
# ``registrymodifications.xcu`` that forces formula recalculation on load, so parallel (xdist) or repeated
# runs never share state. ``soffice`` exits 0 even when it fails, so the output file is checked.
RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _ensure_libreoffice() -> None:
    """Install LibreOffice/poppler/CJK font via scripts/ensure_libreoffice.sh when absent."""
    if shutil.which("soffice") and shutil.which("pdftotext") and shutil.which("pdftoppm"):
        fc = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
        if fc.stdout.strip():
            return
    res = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_libreoffice.sh")], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"scripts/ensure_libreoffice.sh failed ({res.returncode}):\n{res.stderr[-2000:]}")


def _lo_convert(sources: list[Path] | Path, fmt: str, outdir: Path, timeout: float = 180) -> list[Path]:
    """Convert one or more files with a fresh profile; return the output paths (all must exist)."""
    srcs = [Path(sources)] if isinstance(sources, (str, Path)) else [Path(s) for s in sources]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ext = fmt.split(":")[0]
    with tempfile.TemporaryDirectory(prefix="lo_profile_") as prof:
        user = Path(prof) / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")
        cmd = ["soffice", "--headless", "--norestore", "--nologo", f"-env:UserInstallation=file://{prof}",
               "--convert-to", fmt, "--outdir", str(outdir), *map(str, srcs)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    outs = [outdir / f"{s.stem}.{ext}" for s in srcs]
    missing = [o for o in outs if not o.is_file() or o.stat().st_size == 0]
    if missing:
        raise RuntimeError(f"soffice did not write {', '.join(map(str, missing))} (rc={res.returncode})\n"
                           f"stdout: {res.stdout[-1000:]}\nstderr: {res.stderr[-1000:]}")
    return outs


def _pdf_text(pdf: Path) -> str:
    res = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return res.stdout


def _pdf_pages(pdf: Path) -> int:
    res = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    for line in res.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise RuntimeError(f"pdfinfo gave no page count for {pdf}")


def _pdf_png(pdf: Path, out_stem: Path, first: int = 1, last: int | None = None, dpi: int = 70) -> list[Path]:
    """Render pages to PNG (``out_stem-N.png``)."""
    cmd = ["pdftoppm", "-png", "-r", str(dpi), "-f", str(first)]
    if last is not None:
        cmd += ["-l", str(last)]
    subprocess.run(cmd + [str(pdf), str(out_stem)], check=True, capture_output=True)
    return sorted(Path(out_stem).parent.glob(Path(out_stem).name + "-*.png"))


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory):
    """LibreOffice headless and poppler (installed by scripts/ensure_libreoffice.sh when absent, one xdist
    worker at a time): ``convert(sources, fmt, outdir)``, ``pdf_text(pdf)``, ``pdf_pages(pdf)``,
    ``pdf_png(pdf, out_stem, first, last)``. Tests that use it are marked ``slow``."""
    import fcntl
    with open(tmp_path_factory.getbasetemp().parent / "libreoffice-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the base temp's parent is shared by the workers of one run
        _ensure_libreoffice()
    return types.SimpleNamespace(convert=_lo_convert, pdf_text=_pdf_text, pdf_pages=_pdf_pages, pdf_png=_pdf_png)


def _naive_units_nav(weights, prices, cost: float, lag: int):
    """NAV by hand, independently of xladdin's engine: whole units bought at the close ``lag`` trading
    days after each decision (a row with a weight), valued at every close (prices carried over gaps),
    held until the next trade; each trade pays ``cost`` × Σ|target − drifted weight| of the NAV."""
    import pandas as pd
    px = prices.ffill()
    days = list(px.index)
    trades = {days.index(d) + lag: row for d, row in weights.iterrows()
              if row.notna().any() and days.index(d) + lag < len(days) - 1}
    first = min(trades)
    units, value, out = None, 1.0, {days[first - 1]: 1.0}
    for i in range(first, len(days)):
        p = px.iloc[i]
        if units is not None:
            value = float((units * p.fillna(0.0)).sum())
        if i in trades:
            tgt = trades[i].fillna(0.0)
            held = (units * p / value).fillna(0.0) if units is not None else tgt * 0
            value *= 1 - cost * float((tgt - held).abs().sum())
            units = (tgt * value / p).where(tgt > 0, 0.0)
        out[days[i]] = value
    return pd.Series(out)


@pytest.fixture(scope="session")
def naive_units_nav():
    """:func:`_naive_units_nav`: the hand-made NAV the backtests of M7-M11 are checked against."""
    return _naive_units_nav


def pytest_collection_modifyitems(config, items):
    """A LibreOffice round trip is heavy by nature: every test using the ``libreoffice`` fixture is ``slow``."""
    for item in items:
        if "libreoffice" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def older_python() -> str | None:
    """A real Python < 3.11 on this machine (on PATH, or one pyenv keeps), None when there is none."""
    names = ["python3.10", "python3.9"]
    pyenv = Path.home() / ".pyenv" / "versions"
    found = [shutil.which(n) for n in names] + sorted(str(p) for p in pyenv.glob("3.1[0]*/bin/python3")) \
        + sorted(str(p) for p in pyenv.glob("3.[89]*/bin/python3"))
    for exe in filter(None, found):
        r = subprocess.run([exe, "-c", "import sys; print(sys.version_info < (3, 11))"], capture_output=True,
                           text=True)
        if r.returncode == 0 and r.stdout.strip() == "True":
            return exe
    return None
