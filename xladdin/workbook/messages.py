"""Every text of the weekly workbook that depends on its language: one table, zh and en by message id.

:func:`say` fills a message in the sheet's language (``str.format`` fields, e.g. ``{date:%Y-%m-%d}``);
:func:`both` gives both languages (the subtitles keep both). A language without its own text falls
back to Chinese, the reports' language. Adding a language is adding one key to every entry
(``tests/test_messages.py`` checks that every entry has the same fields in every language).
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["MESSAGES", "NOTE_TEXTS", "say", "both", "amount", "note_text"]

MESSAGES: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------ separators and amounts
    "sep.list": {"zh": "、", "en": ", "},
    "sep.items": {"zh": ";", "en": "; "},
    "none": {"zh": "无", "en": "none"},
    "amount": {"zh": "{value:,.2f}亿元", "en": "{value:,.2f}"},
    "amount.item": {"zh": "{name} {amount}", "en": "{name} {amount}"},
    # ------------------------------------------------------------ cover: style
    "style.title.size": {"zh": "风格:大小盘", "en": "Style: size"},
    "style.title.growth": {"zh": "风格:成长价值", "en": "Style: growth"},
    "style.side.size.1": {"zh": "大盘", "en": "large-cap"},
    "style.side.size.0": {"zh": "小盘", "en": "small-cap"},
    "style.side.growth.1": {"zh": "成长", "en": "growth"},
    "style.side.growth.0": {"zh": "价值", "en": "value"},
    "style.leads": {"zh": "{side}占优", "en": "{side} leads"},
    "style.detail": {"zh": "截至{date:%Y-%m-%d}单边HP+因子动量信号为{regime}",
                     "en": "one-sided HP + factor momentum signal {regime} at {date:%Y-%m-%d}"},
    "style.switched": {"zh": ",本周发生切换", "en": "; switched this week"},
    "style.unchanged": {"zh": ",与上周相同", "en": "; unchanged from last week"},
    # ------------------------------------------------------------ cover: stock-ETF and industry flows
    "flow.total.title": {"zh": "股票ETF资金", "en": "Stock-ETF flow"},
    "flow.total.detail": {"zh": "{start:%m-%d}至{end:%m-%d},{n}只股票ETF合计(M1:份额变动×当日净值)",
                          "en": "{start:%Y-%m-%d} to {end:%Y-%m-%d}, {n} stock ETFs (M1: share change × that day's NAV)"},
    "flow.title": {"zh": "股票ETF资金(穿透行业)", "en": "Stock-ETF flow (penetrated)"},
    "flow.net_inflow": {"zh": "净流入{amount}", "en": "net inflow {amount} (100m yuan)"},
    "flow.net_outflow": {"zh": "净流出{amount}", "en": "net outflow {amount} (100m yuan)"},
    "flow.period": {"zh": "{start:%m-%d}至{end:%m-%d},穿透到行业合计",
                    "en": "{start:%Y-%m-%d} to {end:%Y-%m-%d}, summed over industries"},
    "flow.included": {"zh": ":跟踪指数有成分股权重的{n}只股票ETF",
                      "en": ": the {n} stock ETFs whose tracked index has constituent weights"},
    "flow.own": {"zh": "(这些ETF合计{own},其中{rest}对应无行业分类的成分股)",
                 "en": " (these ETFs {own}, of which {rest} on constituents without an industry)"},
    "flow.unpenetrated": {"zh": "未穿透的股票ETF", "en": "Stock ETFs not penetrated"},
    "left_out.nav.title": {"zh": "净值缺失未计入", "en": "Missing NAVs left out"},
    "left_out.nav": {"zh": "{n}只ETF本周净值缺失{days}天,未计入: {etfs}{weight}",
                     "en": "{n} ETF(s) missing their NAV on {days} day(s) this week, left out: {etfs}{weight}"},
    "left_out.nav.item": {"zh": "{etf}({days}天)", "en": "{etf} ({days} days)"},
    "left_out.nav.weight": {"zh": "(约{amount})", "en": " (about {amount}, 100m yuan)"},
    "left_out.nav.detail": {"zh": "金额为这些天的份额变动按最近已知净值估算;未计入以上资金流合计;补齐 etf_daily 的 nav",
                            "en": "the amount values their share changes on those days at the last known NAV; not in "
                                  "the flow totals above; fill etf_daily's nav"},
    "left_out.nav.unknown": {"zh": "此前无已知净值,无法估算金额;未计入以上资金流合计;补齐 etf_daily 的 nav",
                             "en": "no earlier NAV to value them; not in the flow totals above; fill etf_daily's nav"},
    "left_out.index.title": {"zh": "无跟踪指数未计入", "en": "No tracked index, left out"},
    "left_out.index": {"zh": "{n}只股票ETF无跟踪指数,未计入: {etfs}{weight}",
                       "en": "{n} stock ETF(s) without a tracked index, left out: {etfs}{weight}"},
    "left_out.index.weight": {"zh": "(本周资金流{amount})", "en": " (their flow this week: {amount}, 100m yuan)"},
    "left_out.index.detail": {"zh": "未计入股票ETF、指数与行业合计;在 etf_info 填写 tracked_index",
                              "en": "not in the stock-ETF, index and industry totals; fill tracked_index in etf_info"},
    "flow.unpenetrated.detail": {"zh": "跟踪指数无成分股权重({indices}),未计入行业合计",
                                 "en": "no constituent weights for {indices}: not in the industry total"},
    "flow.top_in": {"zh": "净流入居前行业", "en": "Top net inflows"},
    "flow.top_out": {"zh": "净流出居前行业", "en": "Top net outflows"},
    "flow.top_in.none": {"zh": "无(本周没有净流入的行业)", "en": "none (no industry had a net inflow)"},
    "flow.top_out.none": {"zh": "无(本周没有净流出的行业)", "en": "none (no industry had a net outflow)"},
    # ------------------------------------------------------------ cover: correlation, picks, notes
    "corr.title": {"zh": "{index} 资金流相关性", "en": "{index} flow correlation"},
    "corr.hot": {"zh": "相关系数 {corr:.2f},高于阈值,警惕短期顶部",
                 "en": "correlation {corr:.2f} above threshold: short-term top risk"},
    "corr.quiet": {"zh": "相关系数 {corr:.2f},未触发", "en": "correlation {corr:.2f}, no signal"},
    "corr.detail": {"zh": "{window}日滚动相关,阈值{threshold:g}(M2)",
                    "en": "{window}-day rolling correlation, threshold {threshold:g} (M2)"},
    "picks.title": {"zh": "行业轮动最新持仓", "en": "Rotation picks"},
    "picks.detail": {"zh": "{date:%Y-%m-%d}调仓,前{top}名等权(M10)",
                     "en": "rebalanced {date:%Y-%m-%d}, top {top} equal weight (M10)"},
    "etf_picks.title": {"zh": "ETF轮动入选", "en": "ETF rotation picks"},
    "etf_picks.detail": {"zh": "{date:%Y-%m-%d}月末信号(M11)", "en": "month-end signal {date:%Y-%m-%d} (M11)"},
    "crowding.title": {"zh": "行业拥挤度", "en": "Industry crowding"},
    "crowding.count": {"zh": "{n} 个行业拥挤: {names}", "en": "{n} industries crowded: {names}"},
    "crowding.count_none": {"zh": "0 个行业拥挤", "en": "no industry crowded"},
    "crowding.unknown": {"zh": "未判断(三项拥挤指标都缺少输入数据)", "en": "not assessed (every crowding flag lacks its input)"},
    "crowding.partial": {"zh": "({flags}未判断)", "en": " ({flags} not assessed)"},
    "crowding.item": {"zh": "{name}({flags})", "en": "{name} ({flags})"},
    "crowding.detail": {"zh": "{date:%Y-%m-%d}:换手热度≥{heat:.0%}分位、量价背离、成分股分化≤{dispersion:.0%}分位,任一即拥挤(M14)",
                        "en": "{date:%Y-%m-%d}: heat >= {heat:.0%} percentile, price-volume divergence or "
                              "dispersion <= {dispersion:.0%} percentile, any one is crowding (M14)"},
    "crowding.blank": {"zh": ";{flags}留空(缺少输入数据)", "en": "; {flags} blank (input missing)"},
    "crowding.blank_why": {"zh": ";{flags}留空:{why}", "en": "; {flags} blank: {why}"},
    "crowding.more_reasons": {"zh": "等(另{n}条)", "en": " and {n} more"},
    "not_computed": {"zh": "未计算:{table}", "en": "Not computed: {table}"},
    # ------------------------------------------------------------ effective ends (spec "Stale inputs")
    "stale.limit": {"zh": ";计算至 {end:%Y-%m-%d}(输入表 {table} 截至 {last:%Y-%m-%d})",
                    "en": "; computed to {end:%Y-%m-%d} ({table} end {last:%Y-%m-%d})"},
    "no_ranking": {"zh": ";无排名调仓期:{counts}", "en": "; rebalances without a ranking: {counts}"},
    "no_ranking.item": {"zh": "{factor} {n}/{of}", "en": "{factor} {n}/{of}"},
    "factor.short_term_flow": {"zh": "短期资金流入流出", "en": "short-term flow"},
    "factor.style_level": {"zh": "风格调整后持仓程度", "en": "style-adjusted level"},
    "factor.style_change": {"zh": "风格调整后持仓边际变化", "en": "style-adjusted change"},
    "factor.divergence": {"zh": "持仓分歧度", "en": "divergence"},
    "strategy_note": {"zh": "策略说明", "en": "Strategy note"},
    # ------------------------------------------------------------ cover: data freshness
    "fresh.missing": {"zh": "缺失", "en": "missing"},
    "fresh.static": {"zh": "静态表", "en": "static"},
    "fresh.northbound_quarterly": {"zh": "2024-08-16起季度披露,滞后{lag}天",
                                   "en": "quarterly since 2024-08-16, {lag} days behind"},
    "fresh.monthly_current": {"zh": "月度,最新", "en": "monthly, current"},
    "fresh.quarterly_current": {"zh": "季度,最新", "en": "quarterly, current"},
    "fresh.current": {"zh": "最新", "en": "current"},
    "fresh.beyond": {"zh": "(数据晚于截至日,只用到截至日)", "en": " (data runs past the as-of date; used up to it)"},
    "fresh.behind": {"zh": "滞后{lag}天", "en": "{lag} days behind"},
    "fresh.read_from": {"zh": "(读取 {since:%Y-%m-%d} 起的行,周报各表所需窗口)",
                        "en": " (rows from {since:%Y-%m-%d} read: the window the weekly tables need)"},
    "used_by.etf_info": {"zh": "行业资金流, 月度分组, 相关性监控, ETF轮动, 资金流看板",
                         "en": "Industry flows, quintiles, correlation, ETF rotation, dashboard"},
    "used_by.etf_daily": {"zh": "行业资金流, 月度分组, 策略, 相关性监控, ETF轮动, 资金流看板",
                          "en": "Industry flows, quintiles, strategy, correlation, ETF rotation, dashboard"},
    "used_by.index_daily": {"zh": "风格信号, 相关性监控, 资金流看板", "en": "Style signals, correlation, dashboard"},
    "used_by.index_weights": {"zh": "行业资金流, 月度分组, 策略, ETF轮动",
                              "en": "Industry flows, quintiles, strategy, ETF rotation"},
    "used_by.stock_industry": {"zh": "行业资金流, 月度分组, 策略, 资金流看板, 拥挤度",
                               "en": "Industry flows, quintiles, strategy, dashboard, crowding"},
    "used_by.industry_daily": {"zh": "行业资金流, 策略表现, 资金流看板, 拥挤度",
                               "en": "Industry flows, performance, dashboard, crowding"},
    "used_by.northbound_holdings": {"zh": "ETF轮动, 资金流看板", "en": "ETF rotation, dashboard"},
    "used_by.active_fund_holdings": {"zh": "持仓分歧度 (M9)", "en": "Divergence (M9)"},
    "used_by.fund_nav": {"zh": "持仓分歧度 (M9)", "en": "Divergence (M9)"},
    "used_by.fund_issuance": {"zh": "持仓分歧度 (M9)", "en": "Divergence (M9)"},
    "used_by.margin_daily": {"zh": "资金流看板", "en": "Dashboard"},
    "used_by.stock_daily": {"zh": "资金流看板, 拥挤度", "en": "Dashboard, crowding"},
    # ------------------------------------------------------------ sheets: the notes row (row 4)
    "notes.prefix": {"zh": "注:", "en": "Note: "},
    "notes.sep": {"zh": "。", "en": ". "},
    "notes.blank": {"zh": "“{columns}”留空:{why}", "en": "“{columns}” blank: {why}"},
    "notes.of_table": {"zh": "{table}·{column}", "en": "{table} · {column}"},
    "notes.no_value": {"zh": "本期无取值", "en": "no value this period"},
    "notes.input": {"zh": "{table} {status}", "en": "{table} {status}"},
    # ------------------------------------------------------------ tables
    "dashboard.heat": {"zh": "交易过热", "en": "heat high"},
    "dashboard.volatility": {"zh": "波动偏高", "en": "volatility high"},
    "event.horizon": {"zh": "{days}日", "en": "{days}d"},
    "period.full": {"zh": "全时期", "en": "Full period"},  # the M12 full-period row (performance.FULL_PERIOD)
    "etf.ic_mean": {"zh": "IC均值", "en": "IC mean"},
    "etf.ic_std": {"zh": "IC标准差", "en": "IC std"},
    "etf.ic_ir": {"zh": "IC IR(月度)", "en": "IC IR (monthly)"},
    "etf.ic_positive": {"zh": "IC>0占比", "en": "Share of IC > 0"},
    "etf.ic_months": {"zh": "IC月数", "en": "Months"},
    "etf.long_short": {"zh": "多空年化收益", "en": "Long-short annual return"},
    "etf.annual_return": {"zh": "策略年化收益", "en": "Strategy annual return"},
    "etf.sharpe": {"zh": "策略夏普", "en": "Strategy Sharpe"},
    "etf.max_drawdown": {"zh": "策略最大回撤", "en": "Strategy max drawdown"},
    "etf.excess": {"zh": "超额年化", "en": "Excess return"},
    "etf.turnover_month": {"zh": "月均双边换手", "en": "Avg monthly two-way turnover"},
    "etf.turnover_year": {"zh": "年化双边换手", "en": "Two-way turnover per year"},
    "etf.annual_return_gross": {"zh": "策略年化收益(未扣成本)", "en": "Strategy annual return, gross"},
    "etf.excess_gross": {"zh": "超额年化(未扣成本)", "en": "Excess return, gross"},
    "etf.cost": {"zh": "单边成本", "en": "One-way cost"},
    "etf.lag": {"zh": "执行滞后(交易日)", "en": "Execution lag (trading days)"},
    "etf.no_ranking": {"zh": "无排序月数(综合)", "en": "Months without a ranking (composite)"},
    "etf.no_ranking.preference": {"zh": "无排序月数(北向持股偏好)", "en": "Months without a ranking (preference)"},
    "etf.no_ranking.change": {"zh": "无排序月数(北向持股变化)", "en": "Months without a ranking (change)"},
    "etf.no_ranking.momentum": {"zh": "无排序月数(动量)", "en": "Months without a ranking (momentum)"},
    # ------------------------------------------------------------ mail summary
    "summary.how": {"zh": "(扣除单边{cost:.2%}成本,滞后{lag}日成交)",
                    "en": " (net of {cost:.2%} one-way cost, traded {lag} day(s) after the signal)"},
    "summary.annual_return": {"zh": "策略年化收益{how}", "en": "Strategy annual return{how}"},
    "summary.excess": {"zh": "超额年化{how}", "en": "Annual excess return{how}"},
    # ------------------------------------------------------------ the mail's own words (workbook/summary.py)
    "mail.sample_line": {"zh": "{tag} 本邮件及附件的数字来自内置的合成样例数据，不是真实行情，不得用于投资决策或转发。"
                               "（Synthetic sample data, not market data.）",
                         "en": "{tag} The figures of this mail and its attachment come from xladdin's embedded "
                               "synthetic sample, not market data: not for investment decisions, do not forward them."},
    "mail.title": {"zh": "xladdin 周报（截至 {asof}）", "en": "xladdin weekly report (as of {asof})"},
    "mail.headlines": {"zh": "要点", "en": "Highlights"},
    "mail.inflows": {"zh": "资金净流入前列（亿元，仅净流入 > 0）", "en": "Largest net inflows (100m yuan, inflows > 0 only)"},
    "mail.inflows.none": {"zh": "无（本周没有净流入的行业）", "en": "none (no industry had a net inflow this week)"},
    "mail.outflows": {"zh": "资金净流出前列（亿元，仅净流出 < 0）", "en": "Largest net outflows (100m yuan, outflows < 0 only)"},
    "mail.outflows.none": {"zh": "无（本周没有净流出的行业）", "en": "none (no industry had a net outflow this week)"},
    "mail.name": {"zh": "名称", "en": "Name"},
    "mail.net": {"zh": "净额", "en": "Net flow"},
    "mail.picks": {"zh": "策略最新持仓", "en": "Latest strategy picks"},
    "mail.code": {"zh": "代码", "en": "Code"},
    "mail.other": {"zh": "其他", "en": "Other"},
    "mail.item": {"zh": "项目", "en": "Item"},
    "mail.value": {"zh": "数值", "en": "Value"},
    "mail.attachment": {"zh": "完整报表见附件 {name}。", "en": "The full report is attached: {name}. "},
    "mail.footer": {"zh": "本邮件由 xladdin 生成。", "en": "Generated by xladdin."},
    # ------------------------------------------------------------ subtitles
    "sub.asof": {"zh": "截至 {asof:%Y-%m-%d}  |  数据来源:{source}  |  表头语言与阈值见“参数”表",
                 "en": "As of {asof:%Y-%m-%d}  |  data: {source}  |  headers and thresholds: see Parameters"},
    "sub.week": {"zh": "统计区间:{start:%Y-%m-%d} 至 {end:%Y-%m-%d}(亿元)",
                 "en": "Week {start:%Y-%m-%d} to {end:%Y-%m-%d} (100m yuan)"},
    "sub.months": {"zh": "最近{months}个月末,{groups}组", "en": "Last {months} month ends, {groups} groups"},
    "sub.lambda": {"zh": "lambda = {lamb:g};信号 = 滤波值 − 前两期均值{ends}",
                   "en": "lambda = {lamb:g}; signal = filtered − mean of the two previous{ends}"},
    "sub.style_end": {"zh": "{pair}:输入表 {table} 截至{last:%Y-%m-%d}", "en": "{pair}: {table} end {last:%Y-%m-%d}"},
    "sub.style_missing": {"zh": "缺少 {pair}", "en": "missing {pair}"},
    "sub.style_pair.size": {"zh": "大小盘", "en": "size"},
    "sub.style_pair.growth": {"zh": "成长价值", "en": "growth/value"},
    "sub.style_parts": {"zh": "({parts})", "en": " ({parts})"},
    "sub.rebalance": {"zh": "前{top}名等权,每{weeks}周调仓;信号日后{lag}个交易日收盘成交,单边成本{cost:.2%}(占成交额)",
                      "en": "Top {top} equal weight, rebalanced every {weeks} weeks; traded {lag} trading day(s) after "
                            "the signal, one-way cost {cost:.2%} of traded value"},
    "sub.backtest": {"zh": "回测起点 {start:%Y-%m-%d},滞后{lag}日成交,净值扣除单边{cost:.2%}成本(未扣成本见“未扣成本”列),"
                           "无风险利率 {rf:g}{turnover}",
                     "en": "Backtest from {start:%Y-%m-%d}, traded {lag} day(s) after the signal, NAV net of {cost:.2%} "
                           "one-way cost (gross columns beside), risk-free {rf:g}{turnover}"},
    "sub.turnover": {"zh": ";双边换手 {turnover:.0%}/年", "en": "; two-way turnover {turnover:.0%} a year"},
    "sub.correlation": {"zh": "指数 {index},窗口 {window} 日,阈值 {threshold:g}",
                        "en": "Index {index}, window {window} days, threshold {threshold:g}"},
    "sub.rotation": {"zh": "月末信号,入选前{top}只{one_per},信号后{lag}个交易日成交,单边成本{cost:.2%}",
                     "en": "Month-end signal, top {top} picked{one_per}, traded {lag} day(s) after the signal, "
                           "one-way cost {cost:.2%}"},
    "sub.one_per_index": {"zh": "(同一跟踪指数最多1只)", "en": " (at most one per tracked index)"},
    "sub.crowding": {"zh": "截至 {asof:%Y-%m-%d};换手热度 = {measure}占全市场比例的20日均值在近{history}个交易日中的分位,"
                           "≥{heat:.0%}拥挤;量价背离:20日涨跌 ±{price:.0%} 且均量 ∓{volume:.0%};成分股分化 ≤{dispersion:.0%}拥挤",
                     "en": "As of {asof:%Y-%m-%d}; heat = share of the market's {measure}, 20-day mean, percentile of "
                           "the last {history} trading days, crowded at >= {heat:.0%}; divergence: 20-day return "
                           "±{price:.0%} against mean volume ∓{volume:.0%}; dispersion crowded at <= {dispersion:.0%}"},
}


#: the M10 factors as the Chinese notes name them
FACTOR_NAMES_ZH = {"short_term_flow": "短期资金流因子(各行业之间没有超出舍入误差的差异时不排序)",
                   "style_level": "风格调整后持仓水平因子", "style_change": "风格调整后持仓变化因子",
                   "divergence": "持仓分歧度因子"}
#: the Chinese of every :class:`~xladdin.errors.Note` a table or the cover can show, by its key (the English is the
#: note's own text, written where it is raised); ``pair_name`` is filled from the note's ``pair``
NOTE_TEXTS: dict[str, str] = {
    "data.missing": "缺少数据表 {table}(数据来源:{source}):请提供 {table}.csv(列:{columns})",
    "data.empty": "数据表 {table} 在所选日期内没有数据({file},数据来源:{source});需要含 {columns} 列的行",
    "data.no_column": "{table} 缺少 {column} 列({file},数据来源:{source})",
    "data.no_index": "index_daily 中没有指数 {index} 的数据(数据来源:{source})",
    "data.no_index_before": "index_daily 中没有指数 {index} 在 {end:%Y-%m-%d} 及之前的数据(数据来源:{source})",
    "data.no_price": "etf_daily 缺少 {column} 列",
    "data.no_float_ratio": "northbound_holdings 缺少 float_ratio 列(北向持股占流通股比例)",
    "style.pair_needs_closes": "{pair_name}风格需要 index_daily 中 {large} 和 {small} 的收盘价:{cause}",
    "style.no_pair": "index_daily 中没有任何风格指数对的收盘价(缺少:{pairs})",
    "strategy.regime_unavailable": "{pair_name}风格信号不可用({cause}):M8 不含该因子",
    "strategy.no_ranking": "{factor_name}在 {periods} 个调仓日中有 {n} 个无法排序:这些调仓日的综合得分不含该因子",
    "strategy.no_ranking_all": "{factor_name}在全部 {periods} 个调仓日都无法排序:综合得分只用其余因子",
    "strategy.m7_not_computed": "短期资金流五分组(M7)未计算:{periods} 周中有 {n} 周无法排序",
    "strategy.m8_not_computed": "风格调整后持仓(M8)未计算:{periods} 周都无法排序",
    "strategy.m9_not_computed": "持仓分歧度(M9)未计算:{periods} 个月都无法排序",
    "strategy.limited": "{table} 数据截至 {last:%Y-%m-%d}(有效至 {until:%Y-%m-%d}):M6-M10 只计算到 {end:%Y-%m-%d},"
                        "不把旧数据沿用到之后",
    "strategy.divergence_limited": "{table} 数据截至 {last:%Y-%m-%d}(有效至 {until:%Y-%m-%d}):持仓分歧度因子(M9)"
                                   "在 {end:%Y-%m-%d} 之后没有取值",
    "strategy.no_divergence": "缺少 {tables}:不计算持仓分歧度(M9)",
    "strategy.regime_stale": "{pair_name}风格信号的数据截至 {last:%Y-%m-%d},{until:%Y-%m-%d} 之后不再使用(超过 {max_age} 天):"
                             "此后 M8 与 M10 不含该信号",
    "weekly.step_not_computed": "所依赖的 {step} 步骤未计算",
    "weekly.stale": "输入表 {table} 截至 {last:%Y-%m-%d}(有效至 {until:%Y-%m-%d}),不以过期数据计算",
}


def note_text(note: Any, language: str) -> str:
    """A note (a :class:`~xladdin.errors.Note` or plain text) in ``language``: the Chinese of :data:`NOTE_TEXTS`
    for ``zh`` (its fields filled, a cause said in Chinese too), else the note's own (English) text."""
    key = getattr(note, "key", None)
    if language != "zh" or key not in NOTE_TEXTS:
        return "" if note is None else str(note)
    fields = {k: note_text(v, language) if getattr(v, "key", None) else v for k, v in note.fields.items()}
    if "pair" in fields:
        fields["pair_name"] = say(f"sub.style_pair.{fields['pair']}", language)
    if "factor" in fields:
        fields["factor_name"] = FACTOR_NAMES_ZH.get(fields["factor"], fields["factor"])
    return NOTE_TEXTS[key].format(**fields)


def say(key: str, language: str, **values: Any) -> str:
    """Message ``key`` in ``language`` (Chinese when it has no text in that language), fields filled."""
    entry = MESSAGES[key]
    return entry.get(language, entry["zh"]).format(**values)


def both(key: str, **values: Any) -> dict[str, str]:
    """Message ``key`` in every language: ``{"zh": ..., "en": ...}``."""
    return {lang: text.format(**values) for lang, text in MESSAGES[key].items()}


def amount(value: float | None, language: str) -> str:
    """An amount in 亿元 as the cover shows it: ``1,234.56亿元`` in Chinese (``—`` when unknown),
    ``1,234.56`` in English."""
    if language == "zh" and (value is None or not math.isfinite(value)):
        return "—"
    return say("amount", language, value=value)
