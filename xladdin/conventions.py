"""Conventions every method shares: periods per year (annualisation) and the 亿 unit.

The annualisation table follows empyrical (``empyrical.periods.ANNUALIZATION_FACTORS``): a
statistic of daily returns is annualised with 252 trading days a year (spec M12: "annualised,
geometric, 252 trading days"; volatility × √252), of weekly values with 52, of monthly values
with 12. Every module refers to these names; none writes the numbers again.
"""
from __future__ import annotations

DAILY, WEEKLY, MONTHLY, QUARTERLY, YEARLY = "daily", "weekly", "monthly", "quarterly", "yearly"

#: trading days in a year (spec M12)
TRADING_DAYS_PER_YEAR = 252
WEEKS_PER_YEAR = 52
MONTHS_PER_YEAR = 12
QUARTERS_PER_YEAR = 4

#: periods per year by the frequency of the data (empyrical's table)
ANNUALIZATION_FACTORS: dict[str, int] = {
    DAILY: TRADING_DAYS_PER_YEAR,
    WEEKLY: WEEKS_PER_YEAR,
    MONTHLY: MONTHS_PER_YEAR,
    QUARTERLY: QUARTERS_PER_YEAR,
    YEARLY: 1,
}

#: languages of every header and text of the workbook, the report and the mail
LANGUAGES = ("zh", "en")
#: the language of the workbook, the report and the mail unless a ``language`` parameter says otherwise
DEFAULT_LANGUAGE = "zh"

#: one 亿 (1e8) yuan: the unit of every amount shown in the workbook, the report and the terminal tables
YI = 1e8
