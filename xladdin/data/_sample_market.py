"""Stocks (factor model with regimes) and cap-weighted indices for the sample market.

Private to :mod:`xladdin.data.sample`. Arrays are dates x stocks (T x N), float64 for the small
scale and float32 internally for the full scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from xladdin.conventions import TRADING_DAYS_PER_YEAR

from . import _sample_math as smath, _sample_universe as U


def lfilter(b, a, x, axis=-1, zi=None):
    """scipy.signal.lfilter, imported on first use (scipy.signal costs ~2 s to import; keeps CLI start-up fast)."""
    from scipy.signal import lfilter as _lfilter  # lazy: scipy.signal takes ~2 s to import (CLI start-up)
    return _lfilter(b, a, x, axis=axis) if zi is None else _lfilter(b, a, x, axis=axis, zi=zi)

SQ = np.sqrt(TRADING_DAYS_PER_YEAR)


@dataclass
class Stocks:
    codes: np.ndarray          # (N,) object
    industry: np.ndarray       # (N,) int industry position
    board: np.ndarray          # (N,) str: sh / sz / cyb / star
    list_pos: np.ndarray       # (N,) first date position with data
    size: np.ndarray           # (N,) standardised log cap at listing (size exposure)
    growth: np.ndarray         # (N,) standardised growth score
    dividend: np.ndarray       # (N,) dividend score
    idio_vol: np.ndarray       # (N,) annual idiosyncratic vol
    close: np.ndarray          # (T, N)
    ret: np.ndarray            # (T, N) simple returns
    float_mcap: np.ndarray     # (T, N) yuan
    amount: np.ndarray         # (T, N) yuan
    market_ret: np.ndarray     # (T,) market factor return
    vol_state: np.ndarray      # (T,) log-vol state


def _regime_arrays(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(T, 6) regime parameters per day (annualised) and the (T,) regime number."""
    starts = pd.DatetimeIndex([r[0] for r in U.REGIMES])
    pos = np.searchsorted(starts, dates, side="right") - 1
    pos = np.clip(pos, 0, len(U.REGIMES) - 1)
    table = np.array([r[1:] for r in U.REGIMES], dtype=float)
    return table[pos], pos


def _industry_tilts(dates: pd.DatetimeIndex) -> np.ndarray:
    """(T, 30) annual industry drift tilts."""
    starts = pd.DatetimeIndex([t[0] for t in U.INDUSTRY_TILTS])
    table = np.zeros((len(U.INDUSTRY_TILTS), len(U.INDUSTRIES)))
    for j, (_, tilts) in enumerate(U.INDUSTRY_TILTS):
        for name, v in tilts.items():
            table[j, U.IND_POS[name]] = v
    pos = np.searchsorted(starts, dates, side="right") - 1
    out = np.where((pos >= 0)[:, None], table[np.clip(pos, 0, None)], 0.0)
    return out


def _codes(rng: np.random.Generator, board: np.ndarray) -> np.ndarray:
    ranges = {"sh": (600000, 606000, ".SH"), "sz": (1, 3999, ".SZ"), "cyb": (300001, 301600, ".SZ"),
              "star": (688001, 689000, ".SH")}
    out = np.empty(len(board), dtype=object)
    for b, (lo, hi, suf) in ranges.items():
        idx = np.flatnonzero(board == b)
        nums = np.sort(rng.choice(np.arange(lo, hi), size=len(idx), replace=False))
        out[idx] = [f"{n:06d}{suf}" for n in nums]
    return out


def simulate_stocks(rng: np.random.Generator, dates: pd.DatetimeIndex, n: int, dtype=np.float64) -> Stocks:
    """Daily closes, turnover and float caps of ``n`` stocks over ``dates`` (factor model, see module doc)."""
    T, K = len(dates), len(U.INDUSTRIES)
    # ---------------------------------------------------------------- static characteristics
    board = rng.choice(np.array(["sh", "sz", "cyb", "star"]), size=n, p=[0.40, 0.30, 0.20, 0.10])
    p = np.array([r[2] for r in U.INDUSTRIES])
    industry = rng.choice(K, size=n, p=p / p.sum())
    listed_at_start = (rng.random(n) < 0.62) & (board != "star")
    # every industry gets at least 3 stocks listed from the first day
    first = np.flatnonzero(listed_at_start)[: 3 * K]
    industry[first] = np.repeat(np.arange(K), 3)[: len(first)]
    star_open = int(np.searchsorted(dates, pd.Timestamp("2019-07-22")))
    last_list = int(np.searchsorted(dates, pd.Timestamp("2025-06-30")))
    last_list = max(min(last_list, T - 60), 1)
    list_pos = np.where(listed_at_start, 0, rng.integers(1, last_list, size=n))
    star = board == "star"
    list_pos[star] = rng.integers(min(star_open, last_list - 1), last_list, size=star.sum())
    order = np.lexsort((rng.random(n), board))
    board, industry, list_pos = board[order], industry[order], list_pos[order]
    codes = _codes(rng, board)
    srt = np.argsort(codes)
    codes, board, industry, list_pos = codes[srt], board[srt], industry[srt], list_pos[srt]

    ind_cap = np.array([r[3] for r in U.INDUSTRIES])
    ind_growth = np.array([r[4] for r in U.INDUSTRIES])
    ind_vol = np.array([r[5] for r in U.INDUSTRIES])
    newco = board == "cyb"
    log_cap0 = smath.log(6e9) + ind_cap[industry] * 0.8 + rng.normal(0, 1.15, n) - 0.35 * (list_pos > 0) \
        - 0.3 * newco
    size = (log_cap0 - log_cap0.mean()) / log_cap0.std()
    g = ind_growth[industry] + 0.6 * rng.standard_normal(n) + 0.5 * np.isin(board, ["cyb", "star"])
    growth = (g - g.mean()) / g.std()
    div_bonus = np.isin(industry, [U.IND_POS[x] for x in ("银行", "煤炭", "电力及公用事业", "交通运输", "石油石化")])
    d = -0.7 * growth + 0.3 * size + 0.8 * div_bonus + 0.5 * rng.standard_normal(n)
    dividend = (d - d.mean()) / d.std()
    idio_vol = (0.24 + 0.07 * np.clip(-size, -1.5, 3) + 0.08 * np.isin(board, ["cyb", "star"])) \
        * smath.exp(0.15 * rng.standard_normal(n))
    idio_vol = np.clip(idio_vol, 0.12, 0.8)
    beta = np.clip(rng.normal(1.0, 0.18, n) + 0.15 * np.isin(board, ["cyb", "star"]), 0.4, 1.8)

    # ---------------------------------------------------------------- factor returns
    reg, rid = _regime_arrays(dates)
    # stochastic volatility: log-vol AR(1)
    vol_state = lfilter([1.0], [1.0, -0.97], rng.normal(0, 0.10, T))
    vol_mult = smath.exp(vol_state - 0.5 * np.var(vol_state))

    def pinned(noise: np.ndarray) -> np.ndarray:
        """Noise demeaned within each regime, so every regime realises its stated drift exactly."""
        cnt = np.bincount(rid, minlength=rid.max() + 1)
        return noise - (np.bincount(rid, weights=noise) / np.maximum(cnt, 1))[rid]

    m = reg[:, 0] / TRADING_DAYS_PER_YEAR + pinned(reg[:, 1] / SQ * vol_mult * rng.standard_t(5, T) * np.sqrt(3 / 5))
    for day, move in U.JUMPS.items():
        j = np.searchsorted(dates, pd.Timestamp(day))
        if j < T and dates[j] == pd.Timestamp(day):
            m[j] = move
    # style factors: regime drift + slow OU wander + noise (pinned per regime)
    ou = lambda sd: lfilter([1.0], [1.0, -0.985], rng.normal(0, sd, T))  # noqa: E731
    size_f = reg[:, 2] / TRADING_DAYS_PER_YEAR + pinned(ou(0.0005) / 10 + reg[:, 3] / SQ * rng.standard_normal(T) * vol_mult)
    growth_f = reg[:, 4] / TRADING_DAYS_PER_YEAR + pinned(ou(0.0005) / 10 + reg[:, 5] / SQ * rng.standard_normal(T) * vol_mult)
    tilts = _industry_tilts(dates) / TRADING_DAYS_PER_YEAR
    ind_trend = lfilter([1.0], [1.0, -0.994], rng.normal(0, 0.12 / TRADING_DAYS_PER_YEAR * np.sqrt(1 - 0.994 ** 2), (T, K)), axis=0)
    ind_sd = (0.11 + ind_vol) / SQ
    ind_f = tilts + ind_trend + ind_sd * rng.standard_normal((T, K)) * vol_mult[:, None]
    ind_f -= ind_f.mean(axis=1, keepdims=True) * 0.5  # keep industries partly market-neutral

    # ---------------------------------------------------------------- stock returns
    eps = rng.standard_t(4, (T, n)).astype(dtype) * np.float64(np.sqrt(2 / 4))
    eps *= (idio_vol / SQ).astype(dtype)
    r = eps
    r += np.outer(m, beta).astype(dtype)
    r += ind_f[:, industry].astype(dtype)
    # size exposure centred on the large caps (exposure ~0 around the CSI 300 / 500 boundary) so the
    # size factor moves small caps against large ones without lifting the cap-weighted market
    r += np.outer(size_f, size - 1.0).astype(dtype)
    r += np.outer(growth_f, growth).astype(dtype)
    r_lim = np.full((T, n), 0.10, dtype=dtype)
    cyb_wide = dates >= pd.Timestamp("2020-08-24")
    r_lim[:, board == "star"] = 0.20
    r_lim[np.ix_(cyb_wide, board == "cyb")] = 0.20
    np.clip(r, -r_lim, r_lim, out=r)
    r[0] = 0.0
    logp = np.cumsum(smath.log1p(r), axis=0, dtype=np.float64).astype(dtype)
    p0 = smath.exp(rng.normal(smath.log(12.0), 0.7, n))
    close = smath.exp(logp) * p0.astype(dtype)
    close = np.maximum(np.round(close, 2), 0.01).astype(dtype)
    # free float units: cap at listing / price at listing, with lock-up expiries stepping it up
    float_units = smath.exp(log_cap0) / close[list_pos, np.arange(n)]
    steps = np.zeros((T, n), dtype=dtype)
    k = rng.poisson(1.2, n)
    who = np.repeat(np.arange(n), k)
    when = np.minimum(list_pos[who] + rng.integers(60, 1500, len(who)), T - 1)
    np.add.at(steps, (when, who), smath.log(rng.uniform(1.05, 1.5, len(who))).astype(dtype))
    float_mcap = close * (float_units.astype(dtype) * smath.exp(np.cumsum(steps, axis=0)))
    del steps
    # turnover rate: small caps and hot markets trade more; big moves trade more
    mkt_ema = lfilter([0.03], [1.0, -0.97], m)
    heat = smath.exp(1.2 * vol_state + 6.0 * mkt_ema)
    base_tr = 0.012 * smath.exp(-0.35 * np.clip(size, -2, 3)) * smath.exp(0.3 * rng.standard_normal(n))
    tr = smath.exp(0.35 * rng.standard_normal((T, n)).astype(dtype))
    tr *= np.outer(heat, base_tr).astype(dtype)
    tr *= 1 + 8 * np.abs(r)
    np.minimum(tr, 0.5, out=tr)
    amount = np.round(tr * float_mcap, -2)
    return Stocks(codes=codes, industry=industry, board=board, list_pos=list_pos, size=size, growth=growth,
                  dividend=dividend, idio_vol=idio_vol, close=close, ret=r, float_mcap=float_mcap, amount=amount,
                  market_ret=m, vol_state=vol_state)


# ====================================================================== indices
def cap_weights(values: np.ndarray, cap: float) -> np.ndarray:
    """Row-normalise non-negative ``values`` (K x N) and cap each weight at ``cap`` (excess redistributed).

    Rows with fewer than ``ceil(1/cap) + 5`` members are not capped. Rows summing to 0 stay 0.
    """
    w = np.asarray(values, dtype=np.float64)
    tot = w.sum(axis=1, keepdims=True)
    w = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
    members = (w > 0).sum(axis=1)
    capped_rows = members >= int(np.ceil(1 / cap)) + 5
    if not capped_rows.any():
        return w
    sub = w[capped_rows]
    for _ in range(20):
        over = sub > cap
        if not over.any():
            break
        excess = np.where(over, sub - cap, 0).sum(axis=1, keepdims=True)
        sub = np.where(over, cap, sub)
        free = np.where(sub < cap, sub, 0)
        fs = free.sum(axis=1, keepdims=True)
        sub = sub + np.divide(free, fs, out=np.zeros_like(free), where=fs > 0) * excess
    w[capped_rows] = sub
    return w


@dataclass
class IndexSet:
    codes: list[str]
    names: list[str]
    levels: np.ndarray            # (T, K) NaN before start
    weight_rows: pd.DataFrame     # date, index, stock, weight at month ends


def _rank_desc(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rank (0 = largest) of ``values`` among ``mask``; n (outside) for the others."""
    v = np.where(mask, values, -np.inf)
    order = np.argsort(-v, kind="stable")
    rank = np.empty(len(v), dtype=np.int64)
    rank[order] = np.arange(len(v))
    rank[~mask] = len(v)
    return rank


def build_indices(rng: np.random.Generator, dates: pd.DatetimeIndex, st: Stocks, sizes: dict,
                  month_end_pos: np.ndarray) -> IndexSet:
    """Monthly-rebalanced cap-weighted indices: broad, growth/value, theme, strategy and the 30 industries.

    The level between rebalances is buy-and-hold: level_t = level_m * sum_i w_i,m * P_i,t / P_i,m.
    """
    T, n = st.close.shape
    broad = U.broad_indices(sizes["n300"], sizes["n500"], sizes["n1000"], sizes["n2000"], sizes["n50"],
                            sizes["ncyb"], sizes["nstar"])
    defs: list[tuple[str, str, str, dict]] = []  # code, name, kind, params
    for b in broad:
        defs.append((b.code, b.name, b.kind, dict(lo=b.lo, hi=b.hi, pool=b.pool, top=b.top, start=b.start,
                                                   base=b.base)))
    theme_subset = {}
    for code, name, inds, frac in U.THEME_INDICES:
        members = np.isin(st.industry, [U.IND_POS[x] for x in inds])
        members &= rng.random(n) < frac
        theme_subset[code] = members
        defs.append((code, name, "theme", dict(top=sizes["theme_top"], base=float(rng.uniform(1000, 6000)))))
    for code, name, kind, pool, top in U.STRATEGY_INDICES:
        defs.append((code, name, kind, dict(pool=pool, top=max(int(top * sizes["n300"]), 10),
                                            base=float(rng.uniform(1500, 6000)))))
    for extra in sizes.get("extra_themes", []):
        code, name, inds, frac = extra
        members = np.isin(st.industry, [U.IND_POS[x] for x in inds]) & (rng.random(n) < frac)
        theme_subset[code] = members
        defs.append((code, name, "theme", dict(top=sizes["theme_top"], base=float(rng.uniform(1000, 6000)))))
    n_idx = len(defs)
    K = len(U.INDUSTRIES)
    pools = {"all": np.ones(n, bool), "sh": np.isin(st.board, ["sh", "star"]), "sz": np.isin(st.board, ["sz", "cyb"]),
             "cyb": st.board == "cyb", "star": st.board == "star"}
    starts = [int(np.searchsorted(dates, pd.Timestamp(p["start"]))) if p.get("start") else 0 for _, _, _, p in defs]

    reb = np.unique(np.r_[0, month_end_pos])
    levels = np.full((T, n_idx + K), np.nan)
    ind_onehot = np.zeros((K, n))
    ind_onehot[st.industry, np.arange(n)] = 1.0
    weight_frames = []
    level_now = np.full(n_idx + K, np.nan)
    for j, p in enumerate(reb):
        cap = st.float_mcap[p].astype(np.float64)
        listed = st.list_pos <= p
        seasoned = (st.list_pos <= max(p - 60, 0)) | (st.list_pos == 0)
        W = np.zeros((n_idx + K, n))
        rank_all = _rank_desc(cap, seasoned)
        csi300 = rank_all < sizes["n300"]
        for k, (code, _name, kind, prm) in enumerate(defs):
            if p < starts[k]:
                continue
            if kind == "rank":
                pool = pools[prm["pool"]] & seasoned
                if pool.sum() < 5:
                    continue
                rank = _rank_desc(cap, pool)
                lo, hi = int(prm["lo"]), int(prm["hi"])
                sel = (rank >= lo) & (rank < hi)
                W[k] = np.where(sel, cap, 0)
            elif kind in ("growth", "value"):
                uni = rank_all < int(prm["top"]) * 2
                score = st.growth if kind == "growth" else -st.growth
                r_ = _rank_desc(score, uni)
                W[k] = np.where(r_ < uni.sum() // 2, cap, 0)
            elif kind == "theme":
                uni = theme_subset[code] & seasoned
                r_ = _rank_desc(cap, uni)
                W[k] = np.where(r_ < int(prm["top"]), cap, 0)
            else:
                pool = csi300 if prm["pool"] == "csi300" else pools[prm["pool"]] & seasoned & (rank_all < 3 * sizes["n300"] + 3 * sizes["n500"])
                if kind == "dividend":
                    score = st.dividend
                elif kind == "lowvol_dividend":
                    score = st.dividend - 1.5 * (st.idio_vol - st.idio_vol.mean()) / st.idio_vol.std()
                elif kind == "fundamental":
                    score = smath.log(cap) - 0.3 * st.growth
                elif kind == "growth_in":
                    score = st.growth
                elif kind == "value_in":
                    score = -st.growth
                else:  # pragma: no cover - table typo
                    raise ValueError(f"unknown index kind {kind}")
                r_ = _rank_desc(score, pool)
                W[k] = np.where(r_ < int(prm["top"]), cap, 0)
        W[n_idx:] = ind_onehot * np.where(listed, cap, 0)
        W[:n_idx] = cap_weights(W[:n_idx], 0.10)
        W[n_idx:] = cap_weights(W[n_idx:], 1.0)
        # levels over (p, next p]
        nxt = reb[j + 1] if j + 1 < len(reb) else T - 1
        active = W.sum(axis=1) > 0
        started = ~np.isnan(level_now)
        level_now = np.where(active & ~started, 1.0, level_now)
        levels[p] = level_now
        if nxt > p:
            rel = st.close[p + 1: nxt + 1].astype(np.float64) / st.close[p].astype(np.float64)
            seg = np.asarray((sparse.csr_matrix(W) @ rel.T).T)  # (len, K); sparse: no BLAS threads
            seg = np.where(active, seg, np.nan)
            levels[p + 1: nxt + 1] = seg * level_now
            level_now = np.where(active, levels[nxt], level_now)
        if p in month_end_pos:
            kk, ii = np.nonzero(W[:n_idx])
            weight_frames.append((p, kk, ii, W[:n_idx][kk, ii]))
    # scale to base levels
    base = np.r_[[prm.get("base", 1000.0) for _, _, _, prm in defs],
                 rng.uniform(1500, 8000, K)]
    levels = np.round(levels * base, 4)
    codes = [d[0] for d in defs] + U.IND_CODES
    names = [d[1] for d in defs] + [U.IND_NAMES[c] for c in U.IND_CODES]
    pos = np.concatenate([np.full(len(f[1]), f[0]) for f in weight_frames])
    kk = np.concatenate([f[1] for f in weight_frames])
    ii = np.concatenate([f[2] for f in weight_frames])
    ww = np.concatenate([f[3] for f in weight_frames])
    # normalise exactly per (index, date)
    wr = pd.DataFrame({"date": dates.to_numpy()[pos], "index": np.asarray(codes, dtype=object)[kk],
                       "stock": st.codes[ii], "weight": ww})
    wr["weight"] = wr["weight"] / wr.groupby(["date", "index"])["weight"].transform("sum")
    return IndexSet(codes=codes, names=names, levels=levels, weight_rows=wr)


def industry_trading(st: Stocks, listed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 30) traded amount (yuan) and volume (shares) of each industry: the sums over its listed stocks
    of their amount and of amount / close (shares traded at the close), each rounded to whole units.

    No random draw: the stocks' own trading, so the other tables (and the generator's stream) are
    unchanged. Sums run stock after stock within each industry in code order (column order), the
    same on every CPU.
    """
    n_ind = len(U.INDUSTRIES)
    amount = np.zeros((len(listed), n_ind))
    volume = np.zeros((len(listed), n_ind))
    for k in range(n_ind):
        cols = np.flatnonzero(st.industry == k)
        on = listed[:, cols]
        amt = np.where(on, st.amount[:, cols].astype(np.float64), 0.0)
        shares = np.where(on, np.round(amt / st.close[:, cols].astype(np.float64)), 0.0)
        for j in range(len(cols)):  # sequential: no summation order left to the machine
            amount[:, k] += amt[:, j]
            volume[:, k] += shares[:, j]
    return np.round(amount), volume
