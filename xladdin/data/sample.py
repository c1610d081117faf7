"""The embedded sample market: a deterministic, seeded synthetic A-share market with every canonical table.

:func:`generate_market` builds it; :func:`sample_market` returns one cached copy, the market every
command and test uses when no ``--data`` is given. Same seed -> identical tables, bit for bit on every
CPU: everything is drawn from one :class:`numpy.random.Generator` (no global state), every selection
has a fully specified order (stable sorts, picked positions sorted before anything is drawn for them),
and exp/log go through :mod:`xladdin.data._sample_math` instead of numpy's CPU-dependent SIMD code
(tests/test_sample_cpu.py compares the tables with numpy's SIMD paths on and off).

What is in it (``scale="small"``; ``"full"`` in brackets), 2016-01-04 .. 2026-10-30 on the A-share
calendar (:func:`xladdin.data.calendar.trading_days`):

* 500 [5,300] stocks (600xxx.SH / 000xxx.SZ / 300xxx.SZ / 688xxx.SH, staggered listings; STAR from
  2019-07-22), each in one of the 30 CITIC level-1 industries (CI005001.WI ... CI005030.WI).
  Daily returns follow a factor model::

      r_it = beta_i m_t + I_k(i),t + s_i SIZE_t + g_i GV_t + e_it   (clipped at the price limit)

  with market regimes (2016 crash aftermath, 2017 large-cap rally, 2018 bear, 2019-2021 growth bull,
  2021-2024 small caps and value, the 2024-09-24 rally, ...; see ``_sample_universe.REGIMES``),
  stochastic volatility, industry trends and tilts, and fat-tailed idiosyncratic noise. Turnover is
  higher for small caps, in hot markets and on big moves; float caps step up at lock-up expiries.
* Indices, cap-weighted and rebalanced at each month end (weights capped at 10 %), buy-and-hold in
  between: 000300.SH (largest 100 [300]), 000905.SH (next 100 [500]), 000852.SH (next 150 [1000]),
  932000.CSI, 000906.SH, 000016.SH, 000903.SH, 399330.SZ, 399006.SZ, 399673.SZ, 000688.SH (from
  2019-12-31), 000510.CSI, 399370.SZ / 399371.SZ (growth / value halves of the top 200 [800] by a
  growth score), 36 sector/theme indices (subsets of one to three industries) and 8 strategy indices
  (dividend, low-vol dividend, fundamental, growth, value). Every ETF's index has closes in
  ``index_daily`` and month-end weights in ``index_weights`` (normalised to sum to 1).
  The 30 industry indices go to ``industry_daily``, with each industry's traded volume and amount: the
  sums over its listed stocks of amount / close and amount (no random draw; for M14).
* 76 [900] ETFs (broad / sector_theme / strategy_style; seven track 000300.SH in the small scale),
  staggered listing dates. NAV = tracked index x a constant, with a small tracking difference; close
  = NAV x (1 + premium). Daily unit changes are built from:
  (a) long-term holders trading against the day's move (and the past week's), giving the negative
  flow/return correlation the Huatai report finds most of the time (M2); (b) arbitrage creations
  when a premium opens in the ~3 weeks leading into each local top of the tracked index (a day that
  is the highest close within +-20 days after a 4 % rise) -- positive correlation episodes followed by
  declines (M3). The tops are found with hindsight on purpose, to plant the effect; (c) for
  sector/theme ETFs a small inflow ahead of the tracked index beating CSI 300 over the next 5 days
  (so short-term flow groups are monotone, M7), (d) national-team buying of broad ETFs (2016-01,
  2024-02, 2025-04), (e) growth of the ETF market from 2019 and 2024, and noise. Splits: 510310.SH
  consolidates 0.49977589 on 2024-09-20 and 512690.SH splits 2:1 on 2021-03-01 (on a split row
  shares, nav and close are post-split, as in the real data); 515800.SH has five empty NAVs.
* northbound_holdings for about two thirds of the stocks (Shenzhen names from 2016-12-05, STAR from
  2021-02-01): daily to 2024-08-16, then at quarter ends only. float_ratio = share of free float held;
  shares_held = float_ratio x float units; held_value = shares_held x close. Holdings rise from ~1 %
  to ~4 % of float over 2016-2021, lean to large caps, chase momentum and lean slightly toward the
  next month's winners (so M11's factors carry information).
* 60 [300] active equity funds: quarterly portfolios (30 [50] stocks) whose industries mix a growth
  tilt with a crowded consensus; ``fund_nav`` daily = 0.88 x the portfolio's return - fee + noise, so a
  constrained regression on industry returns (M9) recovers their industry mix; ``active_fund_holdings``
  = the top-10 holdings (yuan) at each quarter's last trading day (``report_date``).
* fund_issuance: monthly new units for ``stock_etf`` and ``active_equity`` with the 2020-2021
  active-fund boom and the 2024-2025 ETF boom. ``month`` is the **last trading day of the month**
  (the day the month's figure is known; join as-of on dates without look-ahead).
* margin_daily for the eligible stocks (larger caps from the start, others at the 2016-12, 2019-08
  and 2022-08 expansions): financing_balance (a smoothed ~3 % of float cap that rises after rallies),
  financing_buy (~8 % of turnover) and financing_repay = balance_{t-1} + buy - balance_t (>= 0), whole
  yuan, so the identity holds exactly from each stock's second row on.

Callers must not mutate the tables of :func:`sample_market`'s cached market (copy them first).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from . import _sample_universe as U
from ._sample_flows import (
    full_etf_defs,
    simulate_etfs,
    simulate_funds,
    simulate_issuance,
    simulate_margin,
    simulate_northbound,
)
from ._sample_market import build_indices, industry_trading, simulate_stocks
from .calendar import month_ends, quarter_ends, trading_days
from .market import Market
from .schema import NORTHBOUND_DAILY_UNTIL

DEFAULT_SEED = 20210610

SCALES: dict[str, dict] = {
    "small": dict(n_stocks=500, n300=100, n500=100, n1000=150, n2000=150, n50=30, ncyb=40, nstar=15,
                  theme_top=30, n_funds=60, n_hold=30, n_etfs=None, dtype=np.float64),
    "full": dict(n_stocks=5300, n300=300, n500=500, n1000=1000, n2000=2000, n50=50, ncyb=100, nstar=50,
                 theme_top=50, n_funds=300, n_hold=50, n_etfs=900, dtype=np.float32),
}


def _extra_themes(rng: np.random.Generator, count: int) -> list[tuple[str, str, tuple[str, ...], float]]:
    """Additional theme indices for the full scale (931xxx.CSI codes over one or two industries)."""
    out, used = [], {c for c, *_ in U.THEME_INDICES}
    nums = rng.choice(np.arange(931200, 932000), size=count, replace=False)
    for num in nums:
        code = f"{num}.CSI"
        if code in used:
            continue
        k = rng.choice(len(U.INDUSTRIES), size=int(rng.integers(1, 3)), replace=False)
        names = tuple(U.INDUSTRIES[i][1] for i in k)
        out.append((code, "中证" + "".join(names) + "主题", names, float(rng.uniform(0.3, 0.9))))
    return out


def _complete_period_ends(ends: pd.DatetimeIndex, dates: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """Drop the last period end when the data stop before the period's last trading day."""
    if len(ends) == 0:
        return ends
    last = dates[-1]
    period_end = (last.to_period(freq).end_time).normalize()
    if period_end > last and len(trading_days(last + pd.Timedelta(days=1), period_end)) > 0:
        return ends[:-1]
    return ends


def _long(dates: pd.DatetimeIndex, codes: np.ndarray, key: str, mask: np.ndarray, cols: dict) -> pd.DataFrame:
    """Long table (date, key, *cols) from (T, N) panels where ``mask``; date-major, codes in the given order."""
    tt, ii = np.nonzero(mask)
    out = {"date": pd.DatetimeIndex(dates.to_numpy()[tt]).astype("datetime64[ns]"),
           key: pd.array(np.asarray(codes, dtype=object), dtype="str").take(ii)}
    for name, arr in cols.items():
        out[name] = np.asarray(arr[tt, ii], dtype=np.float64)
    return pd.DataFrame(out)


def generate_market(scale: str = "small", seed: int = DEFAULT_SEED, start="2016-01-01",
                    end="2026-10-31") -> Market:
    """Build the synthetic market (every canonical table; see the module docstring for the model).

    Parameters
    ----------
    scale : ``"small"`` (500 stocks, 76 ETFs, builds in a few seconds) or ``"full"`` (5,300 stocks,
        ~900 ETFs, for benchmarks).
    seed : seed of the :class:`numpy.random.Generator`; the same seed gives identical tables.
    start, end : first and last calendar date (trading days come from :mod:`xladdin.data.calendar`). Regime
        dates outside the range are simply not reached; at least a year is needed.

    Returns
    -------
    Market with all 12 tables, ``source="sample"`` and ``sample=True``, each sorted like :func:`xladdin.data.load_market`
    output (date, then codes).
    """
    if scale not in SCALES:
        raise ValueError(f"scale `{scale}` unknown; use one of {', '.join(SCALES)}")
    cfg = SCALES[scale]
    dates = trading_days(start, end)
    if len(dates) < 250:
        raise ValueError(f"sample market needs at least a year of trading days; got {len(dates)} between {start} and {end}")
    rng = np.random.default_rng(seed)
    T = len(dates)
    me = _complete_period_ends(month_ends(dates), dates, "M")
    me_pos = np.searchsorted(dates, me)
    qe_pos = np.searchsorted(dates, _complete_period_ends(quarter_ends(dates), dates, "Q"))

    st = simulate_stocks(rng, dates, cfg["n_stocks"], dtype=cfg["dtype"])
    sizes = dict(cfg)
    if scale == "full":
        sizes["extra_themes"] = _extra_themes(rng, 110)
    idx = build_indices(rng, dates, st, sizes, me_pos)
    n_ind = len(U.INDUSTRIES)
    n_main = len(idx.codes) - n_ind
    idx_names = dict(zip(idx.codes, idx.names))

    # ------------------------------------------------------------------ ETFs
    if cfg["n_etfs"]:
        defs = full_etf_defs(rng, idx.codes[:n_main], idx_names, cfg["n_etfs"], dates[0], dates[-1])
        splits = list(U.SMALL_SPLITS)
        extra = rng.choice(np.arange(len(U.SMALL_ETFS), len(defs)), size=6, replace=False)
        for e in extra:
            splits.append((defs[e].code, str(dates[int(rng.integers(T // 3, T - 10))].date()),
                           float(rng.choice([2.0, 3.0, 0.5]))))
    else:
        defs, splits = list(U.SMALL_ETFS), list(U.SMALL_SPLITS)
    defs = sorted(defs, key=lambda d: d.code)
    et = simulate_etfs(rng, dates, idx, defs, splits, [U.MISSING_NAV_ETF])
    info = et.info
    live = ~np.isnan(et.shares)
    etf_daily = _long(dates, info["etf"].to_numpy(), "etf", live,
                      {"shares": et.shares, "nav": et.nav, "close": et.close, "split_ratio": et.split})
    etf_info = info.assign(etf=info["etf"].astype("str"), name=info["name"].astype("str"),
                           tracked_index=info["tracked_index"].astype("str"),
                           category=info["category"].astype("str"),
                           list_date=info["list_date"].astype("datetime64[ns]"))

    # ------------------------------------------------------------------ indices (only those some ETF tracks or core)
    tracked = set(info["tracked_index"])
    keep = [k for k in range(n_main) if idx.codes[k] in tracked or k < len(U.broad_indices(1, 1, 1, 1, 1, 1, 1))]
    keep = sorted(keep, key=lambda k: idx.codes[k])
    lv = idx.levels[:, keep]
    index_daily = _long(dates, np.array([idx.codes[k] for k in keep], dtype=object), "index", ~np.isnan(lv),
                        {"close": lv})
    ind_lv = idx.levels[:, n_main:]
    ind_amount, ind_volume = industry_trading(st, np.arange(T)[:, None] >= st.list_pos[None, :])
    industry_daily = _long(dates, np.array(U.IND_CODES, dtype=object), "industry", ~np.isnan(ind_lv),
                           {"close": ind_lv, "volume": ind_volume, "amount": ind_amount})
    keep_codes = {idx.codes[k] for k in keep}
    wr = idx.weight_rows[idx.weight_rows["index"].isin(keep_codes)]
    wr = wr.sort_values(["date", "index", "stock"], kind="stable").reset_index(drop=True)
    index_weights = wr.assign(index=wr["index"].astype("str"), stock=wr["stock"].astype("str"),
                              date=wr["date"].astype("datetime64[ns]"))

    # ------------------------------------------------------------------ stocks
    tpos = np.arange(T)[:, None]
    listed = tpos >= st.list_pos[None, :]
    stock_daily = _long(dates, st.codes, "stock", listed,
                        {"close": st.close, "amount": st.amount, "float_mcap": np.round(st.float_mcap, -2)})
    stock_industry = pd.DataFrame({
        "stock": pd.array(st.codes, dtype="str"),
        "industry": pd.array(np.array(U.IND_CODES, dtype=object)[st.industry], dtype="str"),
        "industry_name": pd.array(np.array([U.IND_NAMES[c] for c in U.IND_CODES], dtype=object)[st.industry],
                                  dtype="str"),
    })

    # ------------------------------------------------------------------ northbound
    nb_idx, ratio, nb_first = simulate_northbound(rng, dates, st)
    report_day = np.zeros(T, bool)
    report_day[dates <= NORTHBOUND_DAILY_UNTIL] = True
    report_day[qe_pos[dates[qe_pos] > NORTHBOUND_DAILY_UNTIL]] = True
    nb_mask = report_day[:, None] & (tpos >= nb_first[None, :])
    close_nb = st.close[:, nb_idx].astype(np.float64)
    float_units = st.float_mcap[:, nb_idx].astype(np.float64) / close_nb
    shares_held = np.round(ratio * float_units, -2)
    ratio_out = np.round(shares_held / float_units, 8)
    northbound = _long(dates, st.codes[nb_idx], "stock", nb_mask,
                       {"shares_held": shares_held, "held_value": np.round(shares_held * close_nb, 2),
                        "float_ratio": ratio_out})

    # ------------------------------------------------------------------ margin
    mg_idx, mg_first, bal, buy, repay = simulate_margin(rng, dates, st)
    mg_mask = tpos >= mg_first[None, :]
    margin = _long(dates, st.codes[mg_idx], "stock", mg_mask,
                   {"financing_balance": bal, "financing_buy": buy, "financing_repay": repay})

    # ------------------------------------------------------------------ active funds
    fund_codes, fnav, holdings = simulate_funds(rng, dates, st, cfg["n_funds"], cfg["n_hold"], qe_pos)
    fund_nav = _long(dates, fund_codes, "fund", ~np.isnan(fnav), {"nav": fnav})
    rows = []
    for p, top, vals in holdings:
        ff = np.repeat(np.arange(len(fund_codes)), top.shape[1])
        rows.append(pd.DataFrame({"report_date": np.repeat(dates.to_numpy()[p], len(ff)),
                                  "fund": fund_codes[ff], "stock": st.codes[top.ravel()],
                                  "value": np.round(vals.ravel(), 2)}))
    afh = pd.concat(rows, ignore_index=True).sort_values(["report_date", "fund", "stock"], kind="stable")
    active_fund_holdings = afh.assign(report_date=afh["report_date"].astype("datetime64[ns]"),
                                      fund=afh["fund"].astype("str"),
                                      stock=afh["stock"].astype("str")).reset_index(drop=True)

    # ------------------------------------------------------------------ issuance
    csi300 = idx.levels[:, idx.codes.index("000300.SH")]
    iss = simulate_issuance(rng, me, csi300[me_pos])
    fund_issuance = pd.DataFrame({
        "month": np.repeat(me.to_numpy(), 2).astype("datetime64[ns]"),
        "category": pd.array(np.tile(np.array(["active_equity", "stock_etf"], dtype=object), len(me)), dtype="str"),
        "new_shares": np.column_stack([iss["active_equity"], iss["stock_etf"]]).ravel(),
    })

    tables = {
        "etf_info": etf_info.reset_index(drop=True),
        "etf_daily": etf_daily,
        "index_daily": index_daily,
        "index_weights": index_weights,
        "stock_industry": stock_industry,
        "industry_daily": industry_daily,
        "northbound_holdings": northbound,
        "active_fund_holdings": active_fund_holdings,
        "fund_nav": fund_nav,
        "fund_issuance": fund_issuance,
        "margin_daily": margin,
        "stock_daily": stock_daily,
    }
    return Market(tables, source="sample", sample=True)


@functools.lru_cache(maxsize=4)
def sample_market(scale: str = "small", seed: int = DEFAULT_SEED) -> Market:
    """The embedded sample market, built once per (scale, seed) and cached.

    Every command and test gets the same object: do not mutate its tables (copy first).
    See :func:`generate_market` for the content.
    """
    return generate_market(scale, seed)
