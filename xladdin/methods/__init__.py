"""The reports' methods (layer 2): pure functions, pandas/numpy in and out, no Excel, no file I/O.

M1 :mod:`~xladdin.methods.flows`; M2–M3 :mod:`~xladdin.methods.correlation`; HP filters
:mod:`~xladdin.methods.filters`; M4–M5 :mod:`~xladdin.methods.style`; M6 :mod:`~xladdin.methods.holdings`;
groups and ranks :mod:`~xladdin.methods.grouping`, :mod:`~xladdin.methods.ranking`; M7–M10
:mod:`~xladdin.methods.strategy`, :mod:`~xladdin.methods.divergence`; M11 :mod:`~xladdin.methods.northbound`;
M13 :mod:`~xladdin.methods.dashboard`; the one backtest engine :mod:`~xladdin.methods.backtest`; statistics
(M12 performance, IC, percentile rank, realised volatility) :mod:`~xladdin.methods.stats`.
May import base modules and :mod:`xladdin.data`.
"""
