"""ETF units and NAV, northbound holdings, active funds, margin and issuance for the sample market.

Private to :mod:`xladdin.sample`. The behaviours the research reports describe are built in on
purpose (documented in :mod:`xladdin.sample`), so the methods find them in the sample:

* ETF units: long-term holders trade against the day's index move (flow/return correlation
  negative, M2); around local tops of the tracked index a premium opens and arbitrageurs create
  units (positive correlation just before a fall, M3); sector ETFs get a modest inflow ahead of
  their index outperforming (M6/M7).
* Northbound: holdings drift toward large caps, chase momentum and lean slightly toward next
  month's winners (M11).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from xladdin.conventions import TRADING_DAYS_PER_YEAR

from . import _sample_math as smath
from . import _sample_universe as U
from ._sample_market import IndexSet, Stocks


def lfilter(b, a, x, axis=-1, zi=None):
    """scipy.signal.lfilter, imported on first use (scipy.signal costs ~2 s to import; keeps CLI start-up fast)."""
    from scipy.signal import lfilter as _lfilter
    return _lfilter(b, a, x, axis=axis) if zi is None else _lfilter(b, a, x, axis=axis, zi=zi)


# ====================================================================== ETFs
@dataclass
class Etfs:
    info: pd.DataFrame      # etf, name, tracked_index, category, list_date
    shares: np.ndarray      # (T, E) NaN before listing
    nav: np.ndarray
    close: np.ndarray
    split: np.ndarray       # (T, E) 1 except on split days


def _hot_episodes(level: np.ndarray, window: int = 20, lead: int = 14, min_rise: float = 0.04) -> np.ndarray:
    """1 on the days leading into a local top of ``level`` (max over +-window days after a rise)."""
    T = len(level)
    lv = pd.Series(smath.log(level))
    roll_max = lv[::-1].rolling(window + 1, min_periods=1).max()[::-1].to_numpy()  # max over [t, t+window]
    past_max = lv.rolling(window + 1, min_periods=1).max().to_numpy()                # max over [t-window, t]
    rise = lv.to_numpy() - lv.shift(window).to_numpy()
    top = (lv.to_numpy() >= roll_max - 1e-12) & (lv.to_numpy() >= past_max - 1e-12) & (rise > min_rise)
    hot = np.zeros(T)
    for t in np.flatnonzero(top):
        hot[max(t - lead, 0): t + 2] = 1.0
    return hot


#: scale of the behavioural part of daily unit flows (keeps ten-year size paths within realistic bounds)
FLOW_SCALE = 0.5


def simulate_etfs(rng: np.random.Generator, dates: pd.DatetimeIndex, idx: IndexSet, defs: list[U.EtfDef],
                  splits: list[tuple[str, str, float]], missing_nav: list[str]) -> Etfs:
    """Units outstanding, NAV, close and split ratio of every ETF in ``defs`` (see module doc)."""
    T, E = len(dates), len(defs)
    col = {c: i for i, c in enumerate(idx.codes)}
    j = np.array([col[d.index] for d in defs])
    levels = idx.levels[:, j]                       # (T, E) tracked index closes
    r = np.nan_to_num(levels[1:] / levels[:-1] - 1)
    r = np.vstack([np.zeros((1, E)), r])
    list_pos = np.array([max(int(np.searchsorted(dates, pd.Timestamp(d.list_date))), 0) for d in defs])
    # an ETF cannot list before its index has a level
    first_level = np.argmax(~np.isnan(levels), axis=0)
    list_pos = np.maximum(list_pos, first_level)
    list_pos = np.minimum(list_pos, T - 2)
    # hot episodes per tracked index
    hot_by_index = {c: _hot_episodes(np.nan_to_num(idx.levels[:, col[c]], nan=np.nan)) for c in {d.index for d in defs}}
    for c, h in hot_by_index.items():
        lvl = idx.levels[:, col[c]]
        h[np.isnan(lvl)] = 0
    hot = np.column_stack([hot_by_index[d.index] for d in defs])
    # premium: AR(1) noise, hot component, crash-day discount
    prem = lfilter([1.0], [1.0, -0.6], rng.normal(0, 0.0006, (T, E)), axis=0)
    prem += hot * (0.0012 + 0.45 * r)
    prem += np.where(r < -0.045, 0.5 * r, 0.0)
    # unit flows (fraction of units outstanding per day)
    a = rng.uniform(0.25, 0.7, E)                   # long-term holders trade against the move
    kappa = rng.uniform(3.0, 6.0, E)                 # arbitrage creations per unit of premium
    noise_sd = rng.uniform(0.004, 0.011, E)
    drift = rng.normal(0.03, 0.08, E) / TRADING_DAYS_PER_YEAR         # per-ETF trend of units (annual log growth)
    # ETF boom: units of stock ETFs grew ~15x 2016-2025 (mostly after 2019)
    boom = ((dates >= pd.Timestamp("2019-01-01")) * 0.15 + (dates >= pd.Timestamp("2024-01-01")) * 0.10) / TRADING_DAYS_PER_YEAR
    r5 = pd.DataFrame(r).rolling(5, min_periods=1).sum().to_numpy()
    f = drift + boom[:, None]
    f = f - a * r - 0.08 * r5 * (1 - hot)
    f = f + kappa * np.maximum(prem - 0.0006, 0)
    f = f + noise_sd * rng.standard_t(4, (T, E)) * np.sqrt(0.5)
    # informed component for sector ETFs: inflow ahead of outperformance of the tracked index
    sector = np.array([d.category == "sector_theme" for d in defs])
    if sector.any():
        lv = smath.log(levels)
        fwd = np.nan_to_num(np.vstack([lv[5:] - lv[:-5], np.zeros((5, E))]))
        mkt = smath.log(idx.levels[:, col["000300.SH"]])
        mfwd = np.nan_to_num(np.r_[mkt[5:] - mkt[:-5], np.zeros(5)])
        f[:, sector] += 0.06 * (fwd[:, sector] - mfwd[:, None])
    # national team purchases of broad ETFs
    nt = np.array([d.index in U.NATIONAL_TEAM_INDICES for d in defs])
    for first, last, share in U.NATIONAL_TEAM:
        days = (dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last))
        if days.any():
            f[np.ix_(days, nt)] += share / days.sum() * rng.uniform(0.6, 1.4, nt.sum())
    tpos = np.arange(T)[:, None]
    # keep sizes realistic: the behavioural terms above move flows around the intended drift but must
    # not compound into a trend of their own (their mean excess over drift + boom is removed per ETF)
    after = tpos > list_pos
    excess = np.where(after, f - (drift + boom[:, None]), 0.0)
    f = (drift + boom[:, None]) + FLOW_SCALE * (excess - excess.sum(axis=0) / np.maximum(after.sum(axis=0), 1))
    np.clip(f, -0.2, 0.35, out=f)
    live = tpos >= list_pos
    f = np.where(tpos > list_pos, f, 0.0)
    size0 = np.array([d.size for d in defs]) * 1e8 * smath.exp(0.3 * rng.standard_normal(E))
    logs = np.cumsum(f, axis=0)
    # centre each path so units outstanding hover around the ETF's nominal size over its life (a constant
    # factor per ETF: flows scale with it, their timing and correlations do not change)
    centre = np.where(tpos >= list_pos, logs, 0.0).sum(axis=0) / np.maximum((tpos >= list_pos).sum(axis=0), 1)
    shares = size0 * smath.exp(logs - centre)
    # NAV: tracked index scaled, small tracking difference (dividends in minus fees), unit NAV ~ 1 or index/1000
    lvl_list = levels[list_pos, np.arange(E)]
    nav0 = np.where(rng.random(E) < 0.5, 1.0, lvl_list / 1000.0)
    td = rng.uniform(-0.004, 0.015, E) / TRADING_DAYS_PER_YEAR
    te = np.cumsum(rng.normal(0, 0.0002, (T, E)), axis=0)
    nav = nav0 * levels / lvl_list * smath.exp(td * (tpos - list_pos) + te - te[list_pos, np.arange(E)])
    split = np.ones((T, E))
    code_pos = {d.code: i for i, d in enumerate(defs)}
    for code, day, ratio in splits:
        if code not in code_pos:
            continue
        e = code_pos[code]
        t = int(np.searchsorted(dates, pd.Timestamp(day)))
        if t >= T or t <= list_pos[e]:
            continue
        split[t, e] = ratio
        shares[t:, e] *= ratio
        nav[t:, e] /= ratio
    shares = np.round(shares, -2)
    nav = np.round(nav, 4)
    close = np.round(nav * (1 + prem), 3)
    nav = np.where(live, nav, np.nan)
    close = np.where(live, close, np.nan)
    shares = np.where(live, shares, np.nan)
    split = np.where(live, split, np.nan)
    for code in missing_nav:
        if code in code_pos:
            e = code_pos[code]
            cand = np.arange(list_pos[e] + 20, T - 1)
            nav[rng.choice(cand, size=min(5, len(cand)), replace=False), e] = np.nan
    info = pd.DataFrame({
        "etf": [d.code for d in defs], "name": [d.name for d in defs], "tracked_index": [d.index for d in defs],
        "category": [d.category for d in defs], "list_date": pd.to_datetime([d.list_date for d in defs]),
    })
    return Etfs(info=info, shares=shares, nav=nav, close=close, split=split)


def full_etf_defs(rng: np.random.Generator, idx_codes: list[str], idx_names: dict[str, str], n_target: int,
                  start: pd.Timestamp, end: pd.Timestamp) -> list[U.EtfDef]:
    """About ``n_target`` ETFs: the small list plus several issuers per index (full scale)."""
    defs = list(U.SMALL_ETFS)
    used = {d.code for d in defs}
    broad = [d.code for d in U.broad_indices(1, 1, 1, 1, 1, 1, 1)]
    strategy = [c for c, *_ in U.STRATEGY_INDICES] + ["399370.SZ", "399371.SZ"]
    # issuers per index: broad indices get many, themes a few
    weights = np.array([12.0 if c in ("000300.SH", "000510.CSI", "000905.SH", "000852.SH") else
                        6.0 if c in broad else 3.0 if c in strategy else 2.5 for c in idx_codes])
    counts = rng.multinomial(max(n_target - len(defs), 0), weights / weights.sum())
    pools = [list(range(510000, 520000)), list(range(560000, 564000)), list(range(159000, 160000))]
    pool_codes = [f"{n:06d}.SH" for n in pools[0] + pools[1]] + [f"{n:06d}.SZ" for n in pools[2]]
    pool_codes = [c for c in pool_codes if c not in used]
    picks = rng.choice(len(pool_codes), size=counts.sum(), replace=False)
    span = (end - start).days
    k = 0
    for code, cnt in zip(idx_codes, counts):
        cat = "broad" if code in broad else "strategy_style" if code in strategy else "sector_theme"
        for _ in range(cnt):
            mgr = U.MANAGERS[int(rng.integers(len(U.MANAGERS)))]
            # listing dates skew late (the ETF boom); a quarter listed before the sample starts
            u = rng.random()
            list_date = start - pd.Timedelta(days=int(rng.integers(30, 2500))) if u < 0.2 else \
                start + pd.Timedelta(days=int(span * 0.95 * rng.beta(2.2, 1.3)))
            defs.append(U.EtfDef(pool_codes[picks[k]], f"{mgr}{idx_names[code]}ETF", code, cat,
                                 list_date.strftime("%Y-%m-%d"), float(smath.exp(rng.normal(smath.log(4), 1.0)))))
            k += 1
    return defs


# ====================================================================== northbound
def simulate_northbound(rng: np.random.Generator, dates: pd.DatetimeIndex, st: Stocks):
    """Northbound float ratios: (mask of eligible stocks, (T, N_eligible) ratio, first position per stock).

    logit(ratio) = ramp_t + c_i + z_i,t with z an AR(1) (phi 0.995) driven by a market-wide flow
    leaning to large caps, momentum (past 20 days) and next 20 days' stock return (planted, small).
    """
    T, n = st.close.shape
    eligible = (st.size > np.quantile(st.size, 0.35)) | (rng.random(n) < 0.1)
    idx = np.flatnonzero(eligible)
    m = len(idx)
    sz_open = int(np.searchsorted(dates, pd.Timestamp("2016-12-05")))
    first = np.maximum(np.where(st.list_pos[idx] > 0, st.list_pos[idx] + 20, 0), np.where(np.isin(st.board[idx], ["sz", "cyb"]), sz_open, 0))
    first = np.where(st.board[idx] == "star", np.maximum(first, int(np.searchsorted(dates, pd.Timestamp("2021-02-01")))), first)
    first = np.minimum(first, T - 1)
    tt = (dates - dates[0]).days.to_numpy() / 365.25
    ramp = -4.9 + 1.5 * np.clip(tt / 5.5, 0, 1) - 0.3 * np.clip((tt - 7.0) / 1.5, 0, 1)
    c = 0.45 * st.size[idx] + 0.6 * rng.standard_normal(m)
    lc = smath.log(st.close[:, idx].astype(np.float64))
    mom = np.nan_to_num(lc - np.vstack([np.repeat(lc[:1], 20, 0), lc[:-20]]))
    fwd = np.nan_to_num(np.vstack([lc[20:], np.repeat(lc[-1:], 20, 0)]) - lc)
    fwd -= fwd.mean(axis=1, keepdims=True)
    mkt_flow = lfilter([1.0], [1.0, -0.8], rng.normal(0, 0.003, T))
    u = rng.normal(0, 0.012, (T, m)) + np.outer(mkt_flow, 0.6 + 0.4 * np.clip(st.size[idx], 0, 3))
    u += 0.008 * mom + 0.006 * fwd
    z = lfilter([1.0], [1.0, -0.995], u, axis=0)
    ratio = 1 / (1 + smath.exp(-(ramp[:, None] + c + z)))
    ratio = np.clip(ratio, 1e-4, 0.3)
    return idx, ratio, first


# ====================================================================== margin
def simulate_margin(rng: np.random.Generator, dates: pd.DatetimeIndex, st: Stocks):
    """Financing balance (smooth share of float cap) and buys; repay = B_{t-1} + buy - B_t >= 0."""
    T, n = st.close.shape
    expansions = [pd.Timestamp(x) for x in ("2016-12-12", "2019-08-19", "2022-08-15")]
    tier = np.where(st.size > np.quantile(st.size, 0.4), 0, rng.integers(1, 4, n))
    tier_pos = np.array([0] + [int(np.searchsorted(dates, e)) for e in expansions])
    first = np.maximum(tier_pos[tier], np.where(st.list_pos > 0, st.list_pos + 60, 0))
    eligible = first < T - 1
    idx = np.flatnonzero(eligible)
    first = first[idx]
    m = st.market_ret
    lev = lfilter([0.01], [1.0, -0.99], m) * 8  # leverage rises after rallies
    c = smath.log(0.03) + 0.4 * rng.standard_normal(len(idx)) - 0.1 * st.size[idx]
    z = lfilter([1.0], [1.0, -0.99], rng.normal(0, 0.015, (T, len(idx))), axis=0)
    cap_s = lfilter([0.05], [1.0, -0.95], st.float_mcap[:, idx].astype(np.float64), axis=0,
                    zi=0.95 * st.float_mcap[0, idx][None, :].astype(np.float64))[0]
    bal = np.round(cap_s * smath.exp(lev[:, None] + c + z), 0)
    q = 0.08 * smath.exp(0.2 * rng.standard_normal((T, len(idx))) + 3 * lev[:, None])
    raw_buy = st.amount[:, idx].astype(np.float64) * q
    prev = np.vstack([bal[:1] * 0.99, bal[:-1]])
    buy = np.round(np.maximum(raw_buy, bal - prev + 0.05 * raw_buy), 0)
    repay = prev + buy - bal
    return idx, first, bal, buy, repay


# ====================================================================== active funds
def _top_columns(score: np.ndarray, k: int) -> np.ndarray:
    """Column positions of the ``k`` largest values of each row, in ascending position order.

    Fully specified on every CPU: a stable sort (ties by position) picks the set, and the set comes
    back sorted, so draws made per picked column do not depend on the order a selection routine
    returns (``np.argpartition``'s order differs between numpy's AVX-512 and AVX2 paths).
    """
    return np.sort(np.argsort(-score, axis=1, kind="stable")[:, :k], axis=1)


def simulate_funds(rng: np.random.Generator, dates: pd.DatetimeIndex, st: Stocks, n_funds: int, n_hold: int,
                   quarter_pos: np.ndarray):
    """Quarterly portfolios of active equity funds, daily NAV and disclosed top-10 holdings.

    Fund f holds, during each quarter, ``n_hold`` stocks drawn without replacement with probability
    proportional to cap^0.6 x exp(industry preference); preferences mix the fund's growth tilt with a crowded
    consensus that chases the past two quarters' industry returns. NAV return = 0.88 x basket
    return - fee + small noise (0.12 in cash).
    """
    T, n = st.close.shape
    K = len(U.INDUSTRIES)
    codes = np.sort(rng.choice(np.arange(1, 20000), size=n_funds, replace=False))
    fund_codes = np.array([f"{c:06d}.OF" for c in codes], dtype=object)
    gtilt = rng.normal(0.6, 0.6, n_funds)
    ind_growth = np.array([r[4] for r in U.INDUSTRIES])
    own = rng.normal(0, 0.7, (n_funds, K))
    reb = np.unique(np.r_[0, quarter_pos])
    nav = np.full((T, n_funds), np.nan)
    nav_now = np.ones(n_funds)
    prev_w = None
    holdings = []
    aum = smath.exp(rng.normal(smath.log(3e9), 0.9, n_funds))
    for j, p in enumerate(reb):
        cap = st.float_mcap[p].astype(np.float64)
        listed = st.list_pos <= max(p - 20, 0)
        # consensus: industries that did well over the past ~2 quarters
        back = max(p - 120, 0)
        growth_p = st.float_mcap[p].astype(np.float64) / np.maximum(st.float_mcap[back].astype(np.float64), 1)
        ind_ret = np.bincount(st.industry, weights=growth_p, minlength=K)
        ind_ret = smath.log(np.maximum(ind_ret / np.maximum(np.bincount(st.industry, minlength=K), 1), 1e-6))
        cons = (ind_ret - ind_ret.mean()) / (ind_ret.std() + 1e-12)
        own = 0.8 * own + rng.normal(0, 0.3, own.shape)
        pref = gtilt[:, None] * ind_growth[None, :] + 0.6 * cons[None, :] + own    # (F, K)
        # a draw without replacement with probabilities ∝ w = cap^0.6 · exp(pref): the n_hold largest
        # w / E, E ~ Exp(1) (the Gumbel-max trick, log w − log E, without a log per cell)
        w = smath.exp(0.6 * smath.log(np.maximum(cap, 1)))[None, :] * smath.exp(pref)[:, st.industry]  # (F, N)
        w = np.where(listed, w, 0.0)
        top = _top_columns(w / rng.standard_exponential((n_funds, n)), n_hold)
        W = np.zeros((n_funds, n))
        raw = np.sqrt(cap[top]) * rng.uniform(0.5, 1.5, top.shape)
        W[np.arange(n_funds)[:, None], top] = raw / raw.sum(axis=1, keepdims=True)
        if prev_w is not None:
            # disclose the quarter that ends at p: top-10 of the drifted portfolio
            p0 = reb[j - 1]
            rel = st.close[p].astype(np.float64) / st.close[p0].astype(np.float64)
            drift = prev_w * rel
            drift /= drift.sum(axis=1, keepdims=True)
            value = drift * (aum * nav_now * 0.88)[:, None]
            t10 = _top_columns(value, 10)
            vals = value[np.arange(n_funds)[:, None], t10]
            holdings.append((p, t10, vals))
        nxt = reb[j + 1] if j + 1 < len(reb) else T - 1
        nav[p] = nav_now
        if nxt > p:
            rel = st.close[p + 1: nxt + 1].astype(np.float64) / st.close[p].astype(np.float64)
            basket = np.asarray((sparse.csr_matrix(W) @ rel.T).T)    # (len, F), 1 at p
            b_ret = np.diff(np.vstack([np.ones((1, n_funds)), basket]), axis=0) / np.vstack([np.ones((1, n_funds)), basket[:-1]])
            f_ret = 0.88 * b_ret - 0.015 / TRADING_DAYS_PER_YEAR + rng.normal(0, 0.0012, b_ret.shape)
            nav[p + 1: nxt + 1] = nav_now * np.cumprod(1 + f_ret, axis=0)
            nav_now = nav[nxt].copy()
        prev_w = W
    return fund_codes, np.round(nav, 4), holdings


# ====================================================================== issuance
#: cos(2π (month − 1) / 12), exact table (np.cos' SIMD paths may differ in the last bit between CPUs)
_MONTH_COS = np.array([1.0, 0.5 * np.sqrt(3.0), 0.5, 0.0, -0.5, -0.5 * np.sqrt(3.0),
                       -1.0, -0.5 * np.sqrt(3.0), -0.5, 0.0, 0.5, 0.5 * np.sqrt(3.0)])


def simulate_issuance(rng: np.random.Generator, month_dates: pd.DatetimeIndex, market_level_at_month: np.ndarray):
    """Monthly new fund units (stock_etf, active_equity): regime curve x pro-cyclical factor x noise."""
    yrs = month_dates.year + (month_dates.month - 1) / 12
    knots_etf = ([2016, 2018.9, 2019.5, 2021, 2022, 2023.5, 2024.5, 2025.5, 2027],
                 [1.0e10, 1.2e10, 3.5e10, 6e10, 4.5e10, 6e10, 1.2e11, 9e10, 8e10])
    knots_act = ([2016, 2018.9, 2019.8, 2020.6, 2021.1, 2021.9, 2022.6, 2023.5, 2024.5, 2025.5, 2027],
                 [3e10, 1.5e10, 6e10, 2.3e11, 3.5e11, 1.5e11, 5e10, 3e10, 1e10, 3e10, 5e10])
    lm = smath.log(market_level_at_month)
    mom3 = np.r_[np.zeros(3), lm[3:] - lm[:-3]]
    out = {}
    for cat, (kx, ky), beta in (("stock_etf", knots_etf, -0.5), ("active_equity", knots_act, 2.5)):
        base = smath.exp(np.interp(yrs, kx, smath.log(ky)))
        season = 1 + 0.15 * _MONTH_COS[month_dates.month - 1]
        noise = smath.exp(rng.normal(0, 0.35, len(yrs)))
        out[cat] = np.round(base * season * noise * smath.exp(beta * mom3), -4)
    return out
