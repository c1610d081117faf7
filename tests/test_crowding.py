"""Industry crowding (M14): heat, price-volume divergence, constituent dispersion, the flags and their
reasons, the weekly count -- against a naive derivation written here (loops over dates, industries and
stocks in plain Python) and on constructed markets with known answers."""
from __future__ import annotations

import math
import string

import numpy as np
import pandas as pd
import pytest

from xladdin.data.market import Market
from xladdin.methods import crowding as C


# ----------------------------------------------------------------------------------------- naive derivation
def naive_percentile(values: list[float], history: int, min_history: int) -> list[float]:
    """Share of the trailing ``history`` rows' values (missing ones left out) at or below the current one."""
    out = []
    for t, x in enumerate(values):
        win = [v for v in values[max(0, t - history + 1):t + 1] if not math.isnan(v)]
        if math.isnan(x) or len(win) < min_history:
            out.append(math.nan)
        else:
            out.append(sum(1 for v in win if v <= x) / len(win))
    return out


def naive_heat(trading: list[list[float]], window: int) -> list[list[float]]:
    """20-day mean of each industry's share of the day's total (NaN unless all window shares exist)."""
    shares = []
    for row in trading:
        present = [x for x in row if not math.isnan(x)]
        total = sum(present)
        shares.append([math.nan if math.isnan(x) or not total > 0 else x / total for x in row])
    out = []
    for t in range(len(trading)):
        row = []
        for i in range(len(trading[0])):
            if t + 1 < window:
                row.append(math.nan)
                continue
            win = [shares[s][i] for s in range(t - window + 1, t + 1)]
            row.append(math.nan if any(math.isnan(v) for v in win) else sum(win) / window)
        out.append(row)
    return out


def naive_divergence(close, volume, window, price_move=0.03, volume_move=0.20):
    """(code, return, volume change) per day and industry, by the spec's words."""
    n, k = len(close), len(close[0])
    code = [[math.nan] * k for _ in range(n)]
    for t in range(n):
        for i in range(k):
            if t < 2 * window - 1 or t < window:
                continue
            c0, c1 = close[t - window][i], close[t][i]
            now = [volume[s][i] for s in range(t - window + 1, t + 1)]
            before = [volume[s][i] for s in range(t - 2 * window + 1, t - window + 1)]
            if any(math.isnan(v) for v in now + before + [c0, c1]) or sum(before) <= 0:
                continue
            r = c1 / c0 - 1
            v = (sum(now) / window) / (sum(before) / window) - 1
            if r <= -price_move + 1e-12 and v >= volume_move - 1e-12:
                code[t][i] = -1.0
            elif r >= price_move - 1e-12 and v <= -volume_move + 1e-12:
                code[t][i] = 1.0
            else:
                code[t][i] = 0.0
    return code


def naive_dispersion(stock_close, industry_of: dict, industries, window, min_stocks):
    """Sample std of the window-day returns of each industry's stocks (two-pass), 0 within the tie tolerance."""
    stocks = list(stock_close.columns)
    vals = stock_close.to_numpy().tolist()
    out = []
    for t in range(len(vals)):
        row = []
        for ind in industries:
            if t < window:
                row.append(math.nan)
                continue
            rets = []
            for j, s in enumerate(stocks):
                if industry_of.get(s) != ind:
                    continue
                a, b = vals[t - window][j], vals[t][j]
                if not (math.isnan(a) or math.isnan(b)):
                    rets.append(b / a - 1)
            if len(rets) < min_stocks:
                row.append(math.nan)
                continue
            m = sum(rets) / len(rets)
            sd = math.sqrt(sum((r - m) ** 2 for r in rets) / (len(rets) - 1))
            row.append(0.0 if sd <= 1e-9 * max(abs(r) for r in rets) else sd)
        out.append(row)
    return out


def columns_of(rows: list[list[float]]) -> list[list[float]]:
    return [list(c) for c in zip(*rows, strict=True)]


def naive_percentiles(rows, history, min_history):
    cols = [naive_percentile(c, history, min_history) for c in columns_of(rows)]
    return [list(r) for r in zip(*cols, strict=True)]


def assert_close(frame: pd.DataFrame, rows, rtol=1e-12):
    np.testing.assert_allclose(frame.to_numpy(dtype=float), np.array(rows, dtype=float), rtol=rtol, atol=0,
                               equal_nan=True)


# ----------------------------------------------------------------------------------------- constructed data
def days(n: int, start: str = "2019-01-02") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n)


def random_market_frames(seed: int, n: int = 160, k: int = 4, holes: bool = True):
    rng = np.random.default_rng(seed)
    idx = days(n)
    cols = [f"I{i}" for i in range(k)]
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, k)), axis=0)), idx, cols)
    volume = pd.DataFrame(rng.uniform(50, 150, (n, k)) * np.exp(rng.normal(0, 0.3, (n, 1))), idx, cols)
    if holes:
        volume.iloc[rng.integers(0, n, 12), rng.integers(0, k, 12)] = np.nan
        close.iloc[:7, 3] = np.nan  # an industry starting later
    return close, volume


def test_panels_equal_the_naive_derivation_on_random_data():
    close, volume = random_market_frames(1)
    amount = volume * close / 100
    w, h, mh = 5, 40, 15
    p = C.crowding_panels(close, amount, volume, window=w, crowding_history=h, min_history=mh, measure="amount")
    heat = naive_heat(amount.to_numpy().tolist(), w)
    assert_close(p.heat_level, heat)
    pct = naive_percentiles(heat, h, mh)
    assert_close(p.heat_pct, pct)
    assert_close(p.divergence, naive_divergence(close.to_numpy().tolist(), volume.to_numpy().tolist(), w))
    on = [[math.nan if math.isnan(x) else float(x >= 0.95) for x in r] for r in pct]
    assert_close(p.heat_on, on)
    assert np.isnan(p.dispersion.to_numpy()).all() and np.isnan(p.dispersion_on.to_numpy()).all()
    # crowded = any flag on; blank only when no flag is known
    div = naive_divergence(close.to_numpy().tolist(), volume.to_numpy().tolist(), w)
    crowded = [[math.nan if math.isnan(a) and math.isnan(b) else float((a == 1) or (b in (-1.0, 1.0)))
                for a, b in zip(ra, rb, strict=True)] for ra, rb in zip(on, div, strict=True)]
    assert_close(p.crowded, crowded)
    assert (p.crowded == 1).to_numpy().sum() > 0 and (p.crowded == 0).to_numpy().sum() > 0


def stock_frames(seed: int, n: int, per_industry: dict[str, int], holes: bool = True):
    rng = np.random.default_rng(seed)
    idx = days(n)
    stocks, industry_of = [], {}
    for ind, count in per_industry.items():
        for _ in range(count):
            code = f"{600000 + len(stocks):06d}.SH"
            stocks.append(code)
            industry_of[code] = ind
    close = pd.DataFrame(10 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, len(stocks))), axis=0)), idx, stocks)
    if holes:
        for _ in range(40):  # suspended days
            close.iloc[rng.integers(0, n), rng.integers(0, len(stocks))] = np.nan
        close.iloc[:30, 0] = np.nan  # a stock listed later
    return close, pd.Series(industry_of)


def test_dispersion_equals_the_naive_derivation():
    sc, imap = stock_frames(2, 120, {"I0": 12, "I1": 11, "I2": 4})
    imap["999999.SZ"] = "I3"  # a mapped stock without prices: I3 has no constituents with a price
    disp, count = C.constituent_dispersion(sc, imap, window=7, min_stocks=10,
                                           industries=["I0", "I1", "I2", "I3", "I4"])
    naive = naive_dispersion(sc, imap.to_dict(), ["I0", "I1", "I2", "I3", "I4"], 7, 10)
    assert_close(disp, naive)
    assert np.isnan(disp["I2"]).all() and np.isnan(disp["I3"]).all() and np.isnan(disp["I4"]).all()
    assert disp["I1"].notna().sum() > 50 and disp["I1"].isna().sum() > 7  # some days drop below 10 of 11
    assert (count["I2"].iloc[7:] <= 4).all() and (count["I3"] == 0).all()


def test_identical_constituent_returns_give_the_lowest_dispersion_percentile():
    """On a known day every stock of I0 rose exactly 5 % over 20 days: dispersion 0, the lowest value of
    its history: percentile 1 / n, flagged (too little differentiated)."""
    n, day = 420, 400
    sc, imap = stock_frames(3, n, {"I0": 12, "I1": 12}, holes=False)
    sc.iloc[day, :12] = sc.iloc[day - 20, :12] * 1.05
    close = pd.DataFrame(1000.0 + np.arange(n)[:, None] + np.zeros((1, 2)), index=sc.index, columns=["I0", "I1"])
    p = C.crowding_panels(close, stock_close=sc, industry_of=imap)
    d = sc.index[day]
    assert p.dispersion.at[d, "I0"] == 0.0
    history = p.dispersion["I0"].iloc[:day + 1].dropna().tail(C.DEFAULT_HISTORY)
    assert p.dispersion_pct.at[d, "I0"] == pytest.approx(1 / len(history)) and len(history) == day + 1 - 20
    assert p.dispersion_on.at[d, "I0"] == 1 and p.crowded.at[d, "I0"] == 1
    naive = naive_percentile([r[0] for r in naive_dispersion(sc, imap.to_dict(), ["I0"], 20, 10)], 750, 250)
    assert_close(p.dispersion_pct[["I0"]], [[v] for v in naive])
    reasons = C.reasons_at(p, d, "I0")
    assert [r.code for r in reasons] == ["no_volume", "no_volume", "dispersion"]
    assert C.reason_text(reasons[2]).startswith("constituent dispersion at the 0.3% percentile")


def heat_market(n: int = 400, spike: int = 350, seed: int = 4):
    rng = np.random.default_rng(seed)
    idx = days(n)
    vol = pd.DataFrame(rng.uniform(90, 110, (n, 3)), idx, ["A", "B", "C"])
    vol.iloc[spike, 0] *= 10  # a volume spike in A on a known day
    close = pd.DataFrame(100.0, idx, ["A", "B", "C"])
    return close, vol


def test_a_volume_spike_gives_heat_one_on_its_day():
    close, vol = heat_market()
    d = close.index[350]
    p = C.crowding_panels(close, vol, None, measure="volume")
    assert p.heat_pct.at[d, "A"] == 1.0 and p.heat_on.at[d, "A"] == 1 and p.crowded.at[d, "A"] == 1
    assert p.heat_pct.at[d, "B"] < 0.5 and p.heat_on.at[d, "B"] == 0  # the others' shares fell
    # on while the spike is inside the 20-day mean and its level among the top 5 % (its first days), then off
    assert (p.heat_on["A"].iloc[350:360] == 1).all() and (p.heat_on["A"].iloc[370:] == 0).all()
    naive = naive_percentiles(naive_heat(vol.to_numpy().tolist(), 20), 750, 250)
    assert_close(p.heat_pct, naive)
    r = C.reasons_at(p, d, "A")
    assert [x.code for x in r] == ["heat", "no_volume", "no_stock_prices"]
    assert C.reason_text(r[0]) == "turnover heat at the 100.0% percentile of its history (crowded at >= 95%)"
    assert C.reason_text(r[0], "zh") == "换手热度处于历史100.0%分位(≥95%为拥挤交易)"


def test_too_little_history_leaves_heat_blank_with_its_reason():
    close, vol = heat_market(n=300, spike=200)
    p = C.crowding_panels(close, vol, vol)
    levels = p.heat_level["A"].notna().cumsum()
    first = levels[levels >= 250].index[0]
    assert p.heat_pct["A"].loc[:first].iloc[:-1].isna().all() and p.heat_pct.at[first, "A"] > 0
    d = close.index[200]
    reasons = C.reasons_at(p, d, "A")
    assert reasons[0] == C.Reason("short_history", "heat", {"n": 182, "need": 250})  # levels from row 19 on
    assert C.reason_text(reasons[0]) == "heat: 182 days of history (needs 250)"
    assert p.crowded.at[d, "A"] == 0  # divergence known (no move), heat blank: not crowded, not blank
    early = C.reasons_at(p, close.index[30], "A")
    assert early[:2] == [C.Reason("short_history", "heat", {"n": 12, "need": 250}),
                         C.Reason("short_history", "divergence", {"n": 31, "need": 40})]


def divergence_frames(kind: str):
    n = 60
    idx = days(n)
    vol = pd.DataFrame(100.0, idx, ["A", "B"])
    path = np.full(n, 100.0)
    if kind == "down":  # price falls 5 % over the last 20 days on volume up 50 %
        path[40:] = 100 * (1 - 0.05 * np.arange(1, 21) / 20)
        vol.iloc[40:, 0] = 150.0
    else:  # price rises 3 % exactly on volume down 20 % exactly: both at the threshold
        path[40:] = 100 * (1 + 0.03 * np.arange(1, 21) / 20)
        vol.iloc[40:, 0] = 80.0
    close = pd.DataFrame({"A": path, "B": np.full(n, 100.0)}, index=idx)
    return close, vol


@pytest.mark.parametrize("kind, code, name", [("down", -1, "volume_up_price_down"), ("up", 1, "price_up_volume_down")])
def test_price_volume_divergence_kinds(kind, code, name):
    close, vol = divergence_frames(kind)
    p = C.crowding_panels(close, None, vol)
    d = close.index[-1]
    assert p.divergence.at[d, "A"] == code and p.divergence.at[d, "B"] == 0 and p.crowded.at[d, "A"] == 1
    assert p.divergence["A"].iloc[:39].isna().all()  # 40 volumes needed
    table = C.crowding_table(p, d, pd.Series({"A": "医药"}))
    assert table.loc[0, "divergence"] == name and table.loc[1, "divergence"] is None
    assert table.loc[0, "name"] == "医药" and table.loc[1, "name"] == ""
    reason = [r for r in table.loc[0, "reasons"] if r.flag == "divergence"][0]
    assert reason.code == name
    text = C.reason_text(reason)
    assert ("-5.0%" in text and "+50%" in text) if kind == "down" else ("+3.0%" in text and "-20%" in text)
    assert_close(p.divergence, naive_divergence(close.to_numpy().tolist(), vol.to_numpy().tolist(), 20))


def test_missing_volume_is_blank_never_zero():
    close, vol = divergence_frames("down")
    vol.iloc[50:, 1] = np.nan   # B's volume ends on day 50
    vol["A"] = np.nan           # A has no volume at all
    p = C.crowding_panels(close, vol, vol)
    d = close.index[-1]
    assert np.isnan(p.heat_pct.at[d, "A"]) and np.isnan(p.divergence.at[d, "A"]) and np.isnan(p.crowded.at[d, "A"])
    assert np.isnan(p.divergence.at[d, "B"]) and np.isnan(p.heat_on.at[d, "B"])
    table = C.crowding_table(p, d)
    assert [C.reason_text(r) for r in table.loc[0, "reasons"]] == [
        "heat: no volume data", "divergence: no volume data",
        "dispersion: no constituent prices"]
    assert C.reason_text(table.loc[1, "reasons"][0]) == f"heat: no volume data after {close.index[49]:%Y-%m-%d}"
    assert np.isnan(table.loc[0, "crowded"])
    weekly = C.weekly_counts(p)
    assert weekly.loc[d, "industries"] == 0 and np.isnan(weekly.loc[d, "crowded"])  # no industry known: blank


def test_fewer_than_ten_constituents_leave_dispersion_blank():
    sc, imap = stock_frames(5, 300, {"I0": 9, "I1": 10}, holes=False)
    close = pd.DataFrame(100.0, index=sc.index, columns=["I0", "I1"])
    p = C.crowding_panels(close, stock_close=sc, industry_of=imap, crowding_history=100, min_history=50)
    d = sc.index[-1]
    assert np.isnan(p.dispersion["I0"]).all() and p.dispersion["I1"].iloc[20:].notna().all()
    assert C.reasons_at(p, d, "I0")[-1] == C.Reason("few_stocks", "dispersion", {"n": 9, "window": 20, "need": 10})
    assert C.reason_text(C.reasons_at(p, d, "I0")[-1], "zh") == "成分股分化:仅9只成分股有20日收益(需10只)"
    mid = sc.index[50]
    assert C.reasons_at(p, mid, "I1")[-1] == C.Reason("short_history", "dispersion", {"n": 31, "need": 50})


def test_weekly_counts_are_the_week_end_flags_counted():
    close, volume = random_market_frames(6, n=300)
    p = C.crowding_panels(close, volume, volume, window=5, crowding_history=60, min_history=20)
    weekly = C.weekly_counts(p)
    ends = close.index.to_series().groupby(close.index.to_period("W-SUN")).max()
    assert list(weekly.index) == list(ends)
    for e in ends:
        row = p.crowded.loc[e]
        for key, flags in (("crowded", row), ("heat", p.heat_on.loc[e]), ("divergence", p.divergence.loc[e].abs())):
            if flags.notna().any():
                assert weekly.at[e, key] == (flags == 1).sum()
            else:  # no industry has the flag known that week: blank, not 0
                assert np.isnan(weekly.at[e, key])
    assert weekly["crowded"].max() > 0
    assert weekly["dispersion"].isna().all()  # no stock prices: the count is blank, not 0


# ----------------------------------------------------------------------------------------- on a market
def constructed_market(with_amount: bool = True, with_stocks: bool = True) -> Market:
    close, volume = random_market_frames(7, n=320, k=3, holes=False)
    sc, imap = stock_frames(8, 320, {"I0": 12, "I1": 12, "I2": 3}, holes=False)
    ind = pd.concat({"close": close, "volume": volume.round(), "amount": (volume * close).round()}, axis=1)
    ind = ind.stack(future_stack=True).reset_index()
    ind.columns = ["date", "industry", "close", "volume", "amount"]
    if not with_amount:
        ind = ind.drop(columns=["amount"])
    tables = {"industry_daily": ind}
    if with_stocks:
        sd = sc.stack().rename("close").reset_index()
        sd.columns = ["date", "stock", "close"]
        sd["amount"] = 1e6
        tables["stock_daily"] = sd
        tables["stock_industry"] = pd.DataFrame({"stock": imap.index, "industry": imap.to_numpy(),
                                                 "industry_name": [{"I0": "通信", "I1": "证券", "I2": "医药"}[i]
                                                                   for i in imap]})
    return Market(tables, source="constructed")


def test_market_crowding_uses_amount_then_volume_and_cuts_at_asof():
    m = constructed_market()
    res = C.market_crowding(m, "2020-02-20", crowding_history=100, min_history=50)
    assert res.measure == "amount" and res.asof == pd.Timestamp("2020-02-20")
    assert res.panels.crowded.index[-1] == res.asof  # nothing after the as-of date
    ind = m.table("industry_daily")
    amount = ind.pivot(index="date", columns="industry", values="amount").loc[:res.asof]
    heat = naive_percentiles(naive_heat(amount.to_numpy().tolist(), 20), 100, 50)
    assert_close(res.panels.heat_pct, heat)
    row = res.table.set_index("industry")
    assert list(row["name"]) == ["通信", "证券", "医药"]
    np.testing.assert_allclose(row["heat_pct"], heat[-1], rtol=1e-12)
    assert np.isnan(row.at["I2", "dispersion_pct"]) and row.at["I0", "n_stocks"] == 12
    assert res.notes == []
    without = C.market_crowding(constructed_market(with_amount=False, with_stocks=False), "2020-02-20")
    assert without.measure == "volume" and any("share of the traded volume" in n for n in without.notes)
    assert any("stock_daily and stock_industry" in n for n in without.notes)
    with pytest.raises(ValueError, match="no `amount` values"):
        C.market_crowding(constructed_market(with_amount=False), measure="amount")


def test_parameters_are_checked():
    close, vol = heat_market(n=40, spike=10)
    for kw, msg in [({"window": 1}, "window"), ({"crowding_history": 0}, "crowding_history"),
                    ({"min_history": 800}, "min_history"), ({"crowding_heat_flag": 1.5}, "crowding_heat_flag"),
                    ({"crowding_dispersion_flag": -0.1}, "crowding_dispersion_flag")]:
        with pytest.raises(ValueError, match=msg):
            C.crowding_panels(close, vol, **kw)
    bad = vol.copy()
    bad.iloc[3, 0] = -1.0
    with pytest.raises(ValueError, match=f"`trading` must be >= 0 .*: -1 for A on {vol.index[3]:%Y-%m-%d}"):
        C.crowding_panels(close, bad)


def test_reason_texts_have_the_same_fields_in_every_language():
    formatter = string.Formatter()
    for code, texts in C.REASON_TEXT.items():
        fields = {lang: {f for _, f, _, _ in formatter.parse(t) if f} for lang, t in texts.items()}
        assert set(texts) == {"en", "zh"} and fields["en"] == fields["zh"], code
    assert set(C.FLAG_NAMES) == set(C.FLAGS)


def test_stock_rows_since_covers_the_weeks_shown():
    """On the trading calendar: from that date to the as-of date there are enough stock rows for every
    week end shown (history + window rows before the earliest)."""
    from xladdin.data.calendar import trading_days, week_ends
    for asof in ("2021-06-25", "2024-02-23", "2026-10-30"):
        since = C.stock_rows_since(asof)
        cal = trading_days(since, asof)
        ends = week_ends(cal)[-C.DEFAULT_WEEKS:]
        first = cal.get_loc(ends[0])
        assert first >= C.DEFAULT_HISTORY + C.DEFAULT_WINDOW - 1
        assert first <= C.DEFAULT_HISTORY + C.DEFAULT_WINDOW + 60  # not far more than needed


# ----------------------------------------------------------------------------------------- the real data
#: the as-of 2021-06-25 table on the real CITIC level-1 data (the seed's week), computed once by
#: market_crowding: heat percentile as the count of the 750 levels at or below today's, the 20-day return
#: and the change of the 20-day mean volume (rounded to 1e-6); no divergence, no dispersion (no stock prices)
REAL_20210625 = {
    "CI005001.WI": (697, 0.026144, 0.246196), "CI005002.WI": (704, 0.098635, -0.046329),
    "CI005003.WI": (396, 0.000742, -0.284927), "CI005004.WI": (387, 0.001046, -0.1116),
    "CI005005.WI": (582, 0.020014, -0.346983), "CI005006.WI": (720, 0.081934, 0.180087),
    "CI005007.WI": (184, 0.019657, 0.089886), "CI005008.WI": (11, -0.026575, -0.035306),
    "CI005009.WI": (516, -0.018204, 0.036949), "CI005010.WI": (209, 0.037912, 0.18116),
    "CI005011.WI": (588, 0.137021, 0.166441), "CI005012.WI": (452, 0.056501, 0.331905),
    "CI005013.WI": (646, 0.137779, 0.104019), "CI005014.WI": (404, -0.046985, -0.013596),
    "CI005015.WI": (450, -0.106846, -0.043523), "CI005016.WI": (139, -0.068936, 0.108062),
    "CI005017.WI": (694, 0.00719, 0.212064), "CI005018.WI": (324, -0.003978, -0.274716),
    "CI005019.WI": (584, -0.053134, 0.199367), "CI005020.WI": (25, -0.053672, -0.025362),
    "CI005021.WI": (149, -0.022258, -0.015122), "CI005022.WI": (214, -0.036225, -0.02958),
    "CI005023.WI": (67, -0.064561, -0.081312), "CI005024.WI": (275, 0.001502, 0.149473),
    "CI005025.WI": (346, 0.108274, 0.428792), "CI005026.WI": (208, 0.042762, 0.71048),
    "CI005027.WI": (626, 0.032503, 0.5598), "CI005028.WI": (118, -0.035851, 0.154256),
    "CI005029.WI": (684, 0.166885, 0.389778), "CI005030.WI": (522, 0.010828, -0.063683),
}


def naive_real_read(market: Market, asof: str) -> dict[str, tuple[float, float, float, float]]:
    """From the long industry_daily rows, in plain Python: per industry (heat percentile, 20-day return, volume
    change, divergence code) on ``asof``, every row of the table's calendar up to it."""
    rows = market.table("industry_daily")
    rows = rows[rows["date"] <= pd.Timestamp(asof)]
    dates = sorted(set(rows["date"]))
    pos = {d: i for i, d in enumerate(dates)}
    codes = sorted(set(rows["industry"]))
    close = {c: [math.nan] * len(dates) for c in codes}
    vol = {c: [math.nan] * len(dates) for c in codes}
    for d, c, cl, v in zip(rows["date"], rows["industry"], rows["close"], rows["volume"], strict=True):
        close[c][pos[d]], vol[c][pos[d]] = cl, v
    table = [[vol[c][t] for c in codes] for t in range(len(dates))]
    heat = columns_of(naive_heat(table, 20))
    div = columns_of(naive_divergence([[close[c][t] for c in codes] for t in range(len(dates))], table, 20))
    out = {}
    for j, c in enumerate(codes):
        pct = naive_percentile(heat[j][-750:], 750, 250)[-1]  # the last 750 rows are the percentile's window
        t = len(dates) - 1
        ret = close[c][t] / close[c][t - 20] - 1
        change = sum(vol[c][t - 19:t + 1]) / sum(vol[c][t - 39:t - 19]) - 1
        out[c] = (pct, ret, change, div[j][-1])
    return out


def test_real_data_2021_06_25_table_is_pinned_and_equals_the_naive_read(real_market):
    res = C.market_crowding(real_market, "2021-06-25")
    assert res.asof == pd.Timestamp("2021-06-25") and res.measure == "volume"
    t = res.table.set_index("industry")
    naive = naive_real_read(real_market, "2021-06-25")
    assert list(t.index) == list(REAL_20210625) == list(naive)
    for code, (k, ret, change) in REAL_20210625.items():
        row = t.loc[code]
        assert row["heat_pct"] == pytest.approx(k / 750, abs=1e-12)
        assert row["ret"] == pytest.approx(ret, abs=5e-7) and row["volume_change"] == pytest.approx(change, abs=5e-7)
        n_pct, n_ret, n_change, n_code = naive[code]
        assert row["heat_pct"] == pytest.approx(n_pct, rel=1e-12)
        assert row["ret"] == pytest.approx(n_ret, rel=1e-12)
        assert row["volume_change"] == pytest.approx(n_change, rel=1e-12)
        assert n_code == 0 and row["divergence"] is None
        assert np.isnan(row["dispersion_pct"]) and row["crowded"] == float(k / 750 >= 0.95)
    assert list(t.index[t["crowded"] == 1]) == ["CI005006.WI"]  # 基础化工, heat at 96.0 %
    assert t.at["CI005019.WI", "name"] == "食品饮料"  # the seed's 酒类 is a CITIC level-2 industry within it
    assert res.weekly.loc["2021-06-25", "crowded"] == 1 and np.isnan(res.weekly.loc["2021-06-25", "dispersion"])


def test_dispersion_does_not_depend_on_how_the_panel_is_stored():
    """The same closes stored date by date or stock by stock (a pivot's frame) give the same bits: each
    industry's sums add the same values in the same order (more than one block of rows, an industry of more
    than 128 stocks); and they agree with the naive derivation."""
    sc, imap = stock_frames(5, 300, {"I0": 300, "I1": 9, "I2": 40})
    by_date = pd.DataFrame(np.ascontiguousarray(sc.to_numpy()), index=sc.index, columns=sc.columns, copy=False)
    by_stock = pd.DataFrame(np.asfortranarray(sc.to_numpy()), index=sc.index, columns=sc.columns, copy=False)
    assert by_date.to_numpy().flags.c_contiguous and by_stock.to_numpy().flags.f_contiguous
    a = C.constituent_dispersion(by_date, imap, window=20, min_stocks=5)
    b = C.constituent_dispersion(by_stock, imap, window=20, min_stocks=5)
    for x, y in zip(a, b):
        assert x.to_numpy().tobytes() == y.to_numpy().tobytes()
    assert a[0].notna().sum().sum() > 600
    assert_close(a[0], naive_dispersion(sc, imap.to_dict(), ["I0", "I1", "I2"], 20, 5))
