"""Static inputs of the sample market: industries, market regimes, index and ETF definitions.

Private to :mod:`xladdin.data.sample`. Everything here is a plain table; the random draws live in the
generator modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: CITIC level-1 industries: code, name, share of listed stocks, log-cap tilt, growth exposure, extra vol
INDUSTRIES: list[tuple[str, str, float, float, float, float]] = [
    ("CI005001.WI", "石油石化", 1.0, 1.0, -1.0, 0.02),
    ("CI005002.WI", "煤炭", 0.8, 0.5, -1.0, 0.06),
    ("CI005003.WI", "有色金属", 2.7, 0.2, 0.1, 0.06),
    ("CI005004.WI", "电力及公用事业", 3.0, 0.3, -0.8, 0.0),
    ("CI005005.WI", "钢铁", 1.0, 0.2, -1.0, 0.04),
    ("CI005006.WI", "基础化工", 8.0, -0.1, 0.2, 0.03),
    ("CI005007.WI", "建筑", 3.0, 0.1, -0.9, 0.02),
    ("CI005008.WI", "建材", 1.5, 0.0, -0.5, 0.03),
    ("CI005009.WI", "轻工制造", 3.5, -0.3, -0.2, 0.01),
    ("CI005010.WI", "机械", 9.0, -0.2, 0.4, 0.02),
    ("CI005011.WI", "电力设备及新能源", 6.0, 0.3, 1.0, 0.07),
    ("CI005012.WI", "国防军工", 2.0, 0.1, 0.8, 0.06),
    ("CI005013.WI", "汽车", 5.0, 0.0, 0.5, 0.04),
    ("CI005014.WI", "商贸零售", 2.0, -0.2, -0.3, 0.01),
    ("CI005015.WI", "消费者服务", 1.0, 0.0, 0.2, 0.03),
    ("CI005016.WI", "家电", 1.7, 0.4, 0.0, 0.02),
    ("CI005017.WI", "纺织服装", 2.0, -0.4, -0.3, 0.0),
    ("CI005018.WI", "医药", 8.0, 0.2, 0.7, 0.03),
    ("CI005019.WI", "食品饮料", 2.5, 0.8, 0.3, 0.04),
    ("CI005020.WI", "农林牧渔", 2.0, 0.0, 0.0, 0.04),
    ("CI005021.WI", "银行", 0.8, 2.2, -1.2, 0.0),
    ("CI005022.WI", "非银行金融", 1.8, 1.1, -0.5, 0.05),
    ("CI005023.WI", "房地产", 2.0, 0.1, -1.0, 0.04),
    ("CI005024.WI", "交通运输", 2.5, 0.4, -0.7, 0.01),
    ("CI005025.WI", "电子", 8.0, 0.2, 1.0, 0.05),
    ("CI005026.WI", "通信", 3.0, 0.1, 0.8, 0.05),
    ("CI005027.WI", "计算机", 6.0, -0.1, 1.0, 0.06),
    ("CI005028.WI", "传媒", 3.0, -0.1, 0.7, 0.06),
    ("CI005029.WI", "综合", 0.6, -0.5, -0.3, 0.02),
    ("CI005030.WI", "综合金融", 0.4, -0.2, -0.4, 0.04),
]
IND_CODES = [r[0] for r in INDUSTRIES]
IND_NAMES = {r[0]: r[1] for r in INDUSTRIES}
IND_POS = {r[1]: i for i, r in enumerate(INDUSTRIES)}

#: market regimes from the given date: market drift, market vol, size drift (large minus small per unit
#: exposure), size vol, growth drift (growth minus value), growth vol; all annualised
REGIMES: list[tuple[str, float, float, float, float, float, float]] = [
    ("2016-01-01", -0.20, 0.40, 0.08, 0.05, -0.02, 0.05),   # crash aftermath (circuit breaker; see JUMPS)
    ("2016-02-01", 0.15, 0.20, 0.05, 0.03, -0.03, 0.03),    # rebound
    ("2016-06-01", 0.12, 0.12, 0.09, 0.03, -0.05, 0.03),    # slow recovery, large caps
    ("2017-01-01", 0.20, 0.10, 0.18, 0.03, -0.05, 0.03),    # 2017 large-cap ("white horse") rally
    ("2018-01-29", -0.26, 0.22, 0.03, 0.04, 0.00, 0.04),    # 2018 bear
    ("2019-01-04", 0.80, 0.24, -0.02, 0.05, 0.10, 0.05),    # 2019 Q1 rebound
    ("2019-04-22", 0.12, 0.18, 0.06, 0.03, 0.07, 0.04),
    ("2020-01-20", 0.10, 0.30, 0.04, 0.05, 0.12, 0.05),     # Covid (see JUMPS)
    ("2020-04-01", 0.35, 0.19, 0.05, 0.04, 0.16, 0.05),     # growth bull
    ("2021-02-19", -0.60, 0.24, -0.14, 0.04, -0.30, 0.05),  # core assets unwind, small caps lead
    ("2021-05-10", 0.02, 0.15, -0.12, 0.04, 0.08, 0.05),    # new-energy run
    ("2022-01-01", -0.28, 0.22, -0.02, 0.04, -0.07, 0.05),  # 2022 bear
    ("2022-11-01", 0.10, 0.16, -0.06, 0.04, -0.03, 0.04),   # reopening
    ("2023-05-01", -0.12, 0.14, -0.14, 0.04, -0.05, 0.04),  # micro caps and dividends
    ("2024-01-02", -0.60, 0.25, 0.25, 0.07, -0.08, 0.05),   # small-cap crash
    ("2024-02-06", 0.02, 0.16, 0.05, 0.04, -0.06, 0.04),    # rebound, dividend style
    ("2024-09-24", 1.00, 0.40, -0.02, 0.06, 0.10, 0.06),    # policy rally (see JUMPS)
    ("2024-10-09", 0.00, 0.22, -0.15, 0.05, 0.10, 0.05),    # small caps, tech
    ("2025-04-07", 0.28, 0.16, -0.04, 0.04, 0.15, 0.05),    # tech bull
    ("2025-11-14", -0.05, 0.15, -0.10, 0.04, -0.12, 0.04),  # small caps / value
    ("2026-01-09", 0.15, 0.16, 0.03, 0.04, 0.12, 0.04),     # growth again
    ("2026-05-01", -0.08, 0.17, 0.08, 0.04, -0.05, 0.04),
]

#: one-day market moves (replace the drawn market return that day)
JUMPS: dict[str, float] = {
    "2016-01-04": -0.070, "2016-01-07": -0.072, "2016-01-26": -0.064, "2018-10-11": -0.050,
    "2019-02-25": 0.058, "2020-02-03": -0.080, "2024-09-24": 0.043, "2024-09-26": 0.040,
    "2024-09-30": 0.085, "2024-10-08": 0.060, "2024-10-09": -0.071, "2025-04-07": -0.072,
}

#: industry tilts (annual drift) from a date until the next entry
INDUSTRY_TILTS: list[tuple[str, dict[str, float]]] = [
    ("2016-01-01", {"计算机": -0.25, "传媒": -0.30, "银行": 0.05}),
    ("2016-06-01", {"食品饮料": 0.40, "家电": 0.35, "银行": 0.10, "非银行金融": 0.12, "传媒": -0.25, "计算机": -0.20}),
    ("2018-01-29", {"食品饮料": 0.05, "医药": -0.10, "电子": -0.15, "银行": 0.08}),
    ("2019-01-04", {"食品饮料": 0.45, "电力设备及新能源": 0.35, "医药": 0.30, "电子": 0.30, "房地产": -0.20, "银行": -0.08}),
    ("2021-02-19", {"煤炭": 0.60, "有色金属": 0.45, "电力设备及新能源": 0.40, "食品饮料": -0.30, "医药": -0.30,
                    "房地产": -0.30, "非银行金融": -0.20}),
    ("2022-01-01", {"煤炭": 0.45, "电力设备及新能源": -0.20, "房地产": -0.20, "电子": -0.25, "交通运输": 0.10}),
    ("2023-01-01", {"计算机": 0.40, "传媒": 0.50, "通信": 0.45, "房地产": -0.30, "电力设备及新能源": -0.30,
                    "食品饮料": -0.15}),
    ("2024-01-02", {"银行": 0.35, "煤炭": 0.10, "电力及公用事业": 0.25, "石油石化": 0.15, "计算机": -0.20}),
    ("2024-10-09", {"计算机": 0.35, "非银行金融": 0.30, "国防军工": 0.20, "银行": 0.05}),
    ("2025-04-07", {"通信": 0.60, "电子": 0.40, "有色金属": 0.45, "国防军工": 0.30, "食品饮料": -0.20, "银行": -0.05}),
    ("2026-01-09", {"电力设备及新能源": 0.30, "有色金属": 0.20, "医药": 0.20, "通信": -0.10}),
]


@dataclass(frozen=True)
class IndexDef:
    """How an index picks and weights its constituents at each rebalance.

    kind: ``rank`` (by float cap within ``pool``, ranks [lo, hi)), ``industries`` (the ``top`` largest of the
    listed industries, among a seeded subset ``frac`` of their stocks), ``growth`` / ``value`` (split of the top
    ``pool_n`` by growth score), ``dividend`` (top ``top`` by dividend score, in ``pool``), ``growth_in``
    (top ``top`` by growth score within ``pool``). lo/hi/top/pool_n are fractions of the scale's sizes when < 1.
    """

    code: str
    name: str
    kind: str
    lo: float = 0
    hi: float = 0
    pool: str = "all"  # all / sh / sz / cyb / star / csi300
    industries: tuple[str, ...] = ()
    top: float = 50
    frac: float = 1.0
    start: str | None = None
    base: float = 1000.0
    cap: float = 0.10


@dataclass(frozen=True)
class EtfDef:
    code: str
    name: str
    index: str
    category: str
    list_date: str
    size: float = 20.0  # initial units, 亿份
    extra: dict = field(default_factory=dict)


def broad_indices(n300: int, n500: int, n1000: int, n2000: int, n50: int, ncyb: int, nstar: int) -> list[IndexDef]:
    """Rank-based broad indices (sizes for the scale)."""
    return [
        IndexDef("000300.SH", "沪深300", "rank", 0, n300, base=3469.07),
        IndexDef("000905.SH", "中证500", "rank", n300, n300 + n500, base=6642.0),
        IndexDef("000852.SH", "中证1000", "rank", n300 + n500, n300 + n500 + n1000, base=7100.0),
        IndexDef("932000.CSI", "中证2000", "rank", n300 + n500 + n1000, n300 + n500 + n1000 + n2000, base=2000.0),
        IndexDef("000906.SH", "中证800", "rank", 0, n300 + n500, base=3800.0),
        IndexDef("000016.SH", "上证50", "rank", 0, n50, pool="sh", base=2300.0),
        IndexDef("000903.SH", "中证100", "rank", 0, max(n50 * 2, 10), base=3300.0),
        IndexDef("399330.SZ", "深证100", "rank", 0, max(n50 * 2, 10), pool="sz", base=4200.0),
        IndexDef("399006.SZ", "创业板指", "rank", 0, ncyb, pool="cyb", base=2550.0),
        IndexDef("399673.SZ", "创业板50", "rank", 0, max(ncyb // 2, 10), pool="cyb", base=2600.0),
        IndexDef("000688.SH", "科创50", "rank", 0, nstar, pool="star", start="2019-12-31", base=1000.0),
        IndexDef("000510.CSI", "中证A500", "rank", 0, int((n300 + n500) * 0.62), base=4000.0),
        IndexDef("399370.SZ", "国证成长", "growth", pool="all", top=(n300 + n500) // 2, base=5200.0),
        IndexDef("399371.SZ", "国证价值", "value", pool="all", top=(n300 + n500) // 2, base=4300.0),
    ]


#: sector / theme indices: code, name, industries, share of those industries' stocks eligible
THEME_INDICES: list[tuple[str, str, tuple[str, ...], float]] = [
    ("399975.SZ", "证券公司", ("非银行金融",), 0.7),
    ("399986.SZ", "中证银行", ("银行",), 1.0),
    ("399989.SZ", "中证医疗", ("医药",), 0.5),
    ("000913.SH", "300医药", ("医药",), 0.8),
    ("930726.CSI", "中证生物医药", ("医药",), 0.6),
    ("H30217.CSI", "医疗器械", ("医药",), 0.4),
    ("931151.CSI", "光伏产业", ("电力设备及新能源",), 0.6),
    ("399976.SZ", "CS新能车", ("电力设备及新能源", "汽车"), 0.5),
    ("399808.SZ", "中证新能", ("电力设备及新能源", "电力及公用事业"), 0.6),
    ("H30184.CSI", "半导体", ("电子",), 0.6),
    ("980017.CNI", "国证芯片", ("电子",), 0.5),
    ("931079.CSI", "5G通信", ("通信", "电子"), 0.5),
    ("931160.CSI", "通信设备", ("通信",), 0.8),
    ("930651.CSI", "计算机", ("计算机",), 0.8),
    ("930713.CSI", "人工智能", ("计算机", "电子", "通信"), 0.4),
    ("399971.SZ", "中证传媒", ("传媒",), 0.8),
    ("930901.CSI", "动漫游戏", ("传媒",), 0.5),
    ("399967.SZ", "中证军工", ("国防军工",), 0.9),
    ("399987.SZ", "中证酒", ("食品饮料",), 0.5),
    ("000932.SH", "主要消费", ("食品饮料", "农林牧渔", "商贸零售"), 0.7),
    ("930653.CSI", "细分食品饮料", ("食品饮料",), 0.8),
    ("000819.SH", "有色金属", ("有色金属",), 0.9),
    ("399998.SZ", "中证煤炭", ("煤炭",), 1.0),
    ("930606.CSI", "中证钢铁", ("钢铁",), 1.0),
    ("H30199.CSI", "中证全指电力", ("电力及公用事业",), 0.9),
    ("931775.CSI", "中证全指房地产", ("房地产",), 1.0),
    ("399995.SZ", "基建工程", ("建筑", "建材"), 0.7),
    ("930697.CSI", "家用电器", ("家电",), 1.0),
    ("930707.CSI", "中证畜牧", ("农林牧渔",), 0.6),
    ("931008.CSI", "汽车指数", ("汽车",), 0.8),
    ("930633.CSI", "中证旅游", ("消费者服务", "交通运输"), 0.6),
    ("000827.SH", "中证环保", ("电力及公用事业", "机械", "基础化工"), 0.3),
    ("000813.CSI", "细分化工", ("基础化工",), 0.7),
    ("H30590.CSI", "机器人", ("机械", "电子"), 0.3),
    ("000812.SH", "细分机械", ("机械",), 0.6),
    ("930608.CSI", "中证基建", ("建筑",), 0.9),
]

#: strategy / style indices beyond 399370/399371: code, name, kind, pool, top (fraction of n300 when < 1)
STRATEGY_INDICES: list[tuple[str, str, str, str, float]] = [
    ("000015.SH", "上证红利", "dividend", "sh", 0.5),
    ("000922.CSI", "中证红利", "dividend", "all", 1.0),
    ("H30269.CSI", "红利低波", "lowvol_dividend", "all", 0.5),
    ("930955.CSI", "红利低波100", "lowvol_dividend", "all", 1.0),
    ("000925.CSI", "基本面50", "fundamental", "all", 0.5),
    ("399296.SZ", "创成长", "growth_in", "cyb", 0.5),
    ("000918.CSI", "300成长", "growth_in", "csi300", 0.33),
    ("000919.CSI", "300价值", "value_in", "csi300", 0.33),
]

MANAGERS = ["华夏", "易方达", "华泰柏瑞", "南方", "嘉实", "广发", "国泰", "富国", "招商", "博时", "汇添富", "鹏华",
            "银华", "天弘", "工银瑞信", "景顺长城", "华宝", "国联安", "平安", "建信", "大成", "华安", "永赢", "摩根",
            "中欧", "兴业", "浦银安盛", "万家", "申万菱信", "汇丰晋信"]

#: the small-scale ETF list (codes and names shaped like the real ones; sizes are 亿份 at listing)
SMALL_ETFS: list[EtfDef] = [
    # broad
    EtfDef("510300.SH", "华泰柏瑞沪深300ETF", "000300.SH", "broad", "2012-05-28", 120),
    EtfDef("510310.SH", "易方达沪深300ETF", "000300.SH", "broad", "2013-03-25", 40),
    EtfDef("510330.SH", "华夏沪深300ETF", "000300.SH", "broad", "2013-01-16", 30),
    EtfDef("159919.SZ", "嘉实沪深300ETF", "000300.SH", "broad", "2012-05-28", 45),
    EtfDef("159925.SZ", "南方沪深300ETF", "000300.SH", "broad", "2013-02-18", 8),
    EtfDef("515330.SH", "天弘沪深300ETF", "000300.SH", "broad", "2019-06-20", 10),
    EtfDef("510390.SH", "平安沪深300ETF", "000300.SH", "broad", "2020-12-10", 6),
    EtfDef("510500.SH", "南方中证500ETF", "000905.SH", "broad", "2013-03-15", 40),
    EtfDef("159922.SZ", "嘉实中证500ETF", "000905.SH", "broad", "2013-02-06", 10),
    EtfDef("512500.SH", "华夏中证500ETF", "000905.SH", "broad", "2015-05-27", 12),
    EtfDef("510510.SH", "广发中证500ETF", "000905.SH", "broad", "2013-04-11", 8),
    EtfDef("512100.SH", "南方中证1000ETF", "000852.SH", "broad", "2016-11-04", 5),
    EtfDef("159845.SZ", "华夏中证1000ETF", "000852.SH", "broad", "2021-03-18", 8),
    EtfDef("159633.SZ", "易方达中证1000ETF", "000852.SH", "broad", "2022-07-29", 6),
    EtfDef("510050.SH", "华夏上证50ETF", "000016.SH", "broad", "2005-02-23", 180),
    EtfDef("510100.SH", "易方达上证50ETF", "000016.SH", "broad", "2013-03-25", 10),
    EtfDef("159915.SZ", "易方达创业板ETF", "399006.SZ", "broad", "2011-12-09", 40),
    EtfDef("159952.SZ", "广发创业板ETF", "399006.SZ", "broad", "2017-05-15", 8),
    EtfDef("159977.SZ", "天弘创业板ETF", "399006.SZ", "broad", "2019-10-25", 6),
    EtfDef("159949.SZ", "华安创业板50ETF", "399673.SZ", "broad", "2016-07-22", 10),
    EtfDef("515800.SH", "汇添富中证800ETF", "000906.SH", "broad", "2019-10-28", 8),
    EtfDef("512910.SH", "广发中证100ETF", "000903.SH", "broad", "2019-05-23", 5),
    EtfDef("159901.SZ", "易方达深证100ETF", "399330.SZ", "broad", "2006-03-24", 15),
    EtfDef("588000.SH", "华夏上证科创板50ETF", "000688.SH", "broad", "2020-11-16", 50),
    EtfDef("588080.SH", "易方达上证科创板50ETF", "000688.SH", "broad", "2020-11-16", 40),
    EtfDef("563300.SH", "华泰柏瑞中证2000ETF", "932000.CSI", "broad", "2023-09-14", 5),
    EtfDef("512050.SH", "华夏中证A500ETF", "000510.CSI", "broad", "2024-11-12", 60),
    EtfDef("159338.SZ", "国泰中证A500ETF", "000510.CSI", "broad", "2024-11-12", 40),
    # sector / theme
    EtfDef("512880.SH", "国泰中证全指证券公司ETF", "399975.SZ", "sector_theme", "2016-08-08", 10),
    EtfDef("512000.SH", "华宝中证全指证券公司ETF", "399975.SZ", "sector_theme", "2016-08-30", 8),
    EtfDef("512800.SH", "华宝中证银行ETF", "399986.SZ", "sector_theme", "2017-08-03", 10),
    EtfDef("512170.SH", "华宝中证医疗ETF", "399989.SZ", "sector_theme", "2019-06-17", 10),
    EtfDef("512010.SH", "易方达沪深300医药卫生ETF", "000913.SH", "sector_theme", "2013-09-23", 5),
    EtfDef("512290.SH", "国泰中证生物医药ETF", "930726.CSI", "sector_theme", "2019-05-20", 5),
    EtfDef("159883.SZ", "永赢中证全指医疗器械ETF", "H30217.CSI", "sector_theme", "2021-02-05", 5),
    EtfDef("515790.SH", "华泰柏瑞中证光伏产业ETF", "931151.CSI", "sector_theme", "2020-12-18", 15),
    EtfDef("515030.SH", "华夏中证新能源汽车ETF", "399976.SZ", "sector_theme", "2020-03-04", 10),
    EtfDef("516160.SH", "南方中证新能源ETF", "399808.SZ", "sector_theme", "2021-02-09", 8),
    EtfDef("512480.SH", "国联安中证全指半导体ETF", "H30184.CSI", "sector_theme", "2019-06-12", 5),
    EtfDef("159995.SZ", "华夏国证半导体芯片ETF", "980017.CNI", "sector_theme", "2020-02-10", 20),
    EtfDef("515050.SH", "华夏中证5G通信主题ETF", "931079.CSI", "sector_theme", "2019-10-16", 20),
    EtfDef("515880.SH", "国泰中证全指通信设备ETF", "931160.CSI", "sector_theme", "2019-09-06", 5),
    EtfDef("512720.SH", "国泰中证计算机主题ETF", "930651.CSI", "sector_theme", "2019-07-11", 5),
    EtfDef("515070.SH", "华夏中证人工智能主题ETF", "930713.CSI", "sector_theme", "2019-12-24", 8),
    EtfDef("512980.SH", "广发中证传媒ETF", "399971.SZ", "sector_theme", "2018-01-19", 8),
    EtfDef("159869.SZ", "华夏中证动漫游戏ETF", "930901.CSI", "sector_theme", "2021-03-05", 5),
    EtfDef("512660.SH", "国泰中证军工ETF", "399967.SZ", "sector_theme", "2016-08-08", 20),
    EtfDef("512690.SH", "鹏华中证酒ETF", "399987.SZ", "sector_theme", "2019-05-06", 5),
    EtfDef("159928.SZ", "汇添富中证主要消费ETF", "000932.SH", "sector_theme", "2013-08-23", 8),
    EtfDef("515170.SH", "华夏中证细分食品饮料产业主题ETF", "930653.CSI", "sector_theme", "2021-01-22", 6),
    EtfDef("512400.SH", "南方中证申万有色金属ETF", "000819.SH", "sector_theme", "2017-09-01", 6),
    EtfDef("515220.SH", "国泰中证煤炭ETF", "399998.SZ", "sector_theme", "2020-03-02", 5),
    EtfDef("515210.SH", "国泰中证钢铁ETF", "930606.CSI", "sector_theme", "2020-03-02", 5),
    EtfDef("159611.SZ", "广发中证全指电力公用事业ETF", "H30199.CSI", "sector_theme", "2022-01-07", 5),
    EtfDef("512200.SH", "南方中证全指房地产ETF", "931775.CSI", "sector_theme", "2017-09-25", 5),
    EtfDef("516970.SH", "广发中证基建工程ETF", "399995.SZ", "sector_theme", "2021-06-18", 5),
    EtfDef("159996.SZ", "国泰中证全指家用电器ETF", "930697.CSI", "sector_theme", "2020-01-23", 4),
    EtfDef("159865.SZ", "国泰中证畜牧养殖ETF", "930707.CSI", "sector_theme", "2021-03-18", 6),
    EtfDef("516110.SH", "国泰中证800汽车与零部件ETF", "931008.CSI", "sector_theme", "2021-07-16", 4),
    EtfDef("159766.SZ", "富国中证旅游主题ETF", "930633.CSI", "sector_theme", "2021-06-24", 5),
    EtfDef("512580.SH", "广发中证环保产业ETF", "000827.SH", "sector_theme", "2017-02-21", 5),
    EtfDef("516020.SH", "华宝中证细分化工产业主题ETF", "000813.CSI", "sector_theme", "2021-04-21", 5),
    EtfDef("562500.SH", "华夏中证机器人ETF", "H30590.CSI", "sector_theme", "2021-12-29", 5),
    EtfDef("159886.SZ", "富国中证细分机械设备产业主题ETF", "000812.SH", "sector_theme", "2021-02-01", 3),
    EtfDef("516950.SH", "银华中证基建ETF", "930608.CSI", "sector_theme", "2021-06-30", 4),
    # strategy / style
    EtfDef("510880.SH", "华泰柏瑞上证红利ETF", "000015.SH", "strategy_style", "2007-01-18", 30),
    EtfDef("515080.SH", "招商中证红利ETF", "000922.CSI", "strategy_style", "2019-12-20", 6),
    EtfDef("515180.SH", "易方达中证红利ETF", "000922.CSI", "strategy_style", "2019-12-09", 6),
    EtfDef("512890.SH", "华泰柏瑞中证红利低波动ETF", "H30269.CSI", "strategy_style", "2019-01-18", 5),
    EtfDef("515100.SH", "景顺长城中证红利低波动100ETF", "930955.CSI", "strategy_style", "2020-06-23", 5),
    EtfDef("512750.SH", "嘉实中证基本面50ETF", "000925.CSI", "strategy_style", "2019-03-22", 4),
    EtfDef("159967.SZ", "华夏创业板动量成长ETF", "399296.SZ", "strategy_style", "2019-07-11", 5),
    EtfDef("159217.SZ", "招商国证成长ETF", "399370.SZ", "strategy_style", "2021-04-16", 4),
    EtfDef("159218.SZ", "招商国证价值ETF", "399371.SZ", "strategy_style", "2021-04-16", 4),
    EtfDef("562310.SH", "银华沪深300成长ETF", "000918.CSI", "strategy_style", "2021-11-05", 3),
    EtfDef("562320.SH", "银华沪深300价值ETF", "000919.CSI", "strategy_style", "2021-11-05", 3),
]

#: ETFs with a share split or consolidation: code, date, ratio (new units per old unit)
SMALL_SPLITS: list[tuple[str, str, float]] = [
    ("510310.SH", "2024-09-20", 0.49977589),  # consolidation, as in the real data
    ("512690.SH", "2021-03-01", 2.0),         # split after the liquor rally
]
#: ETF whose NAV is missing on a few days (exercises missing-NAV handling)
MISSING_NAV_ETF = "515800.SH"

#: national-team days: (first date, last date, units bought as a share of outstanding units, broad indices)
NATIONAL_TEAM: list[tuple[str, str, float]] = [
    ("2016-01-07", "2016-01-15", 0.05),
    ("2024-02-05", "2024-02-08", 0.12),
    ("2025-04-07", "2025-04-10", 0.08),
]
NATIONAL_TEAM_INDICES = ("000300.SH", "000905.SH", "000852.SH", "000016.SH", "000510.CSI")
