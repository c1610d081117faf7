"""xladdin: A-share fund-flow research toolkit for Excel.

The package is layered; each layer imports only from itself and the layers listed before it:

* base — :mod:`xladdin.conventions` (units, calendars of periods), :mod:`xladdin.errors`,
  :mod:`xladdin.fileguard` (atomic writes, locks), :mod:`xladdin.cells` (value to cell): import
  nothing else from xladdin;
* :mod:`xladdin.data` — canonical tables: schema, readers, validation, the market, calendar, sample, clients;
* :mod:`xladdin.methods` — the reports' methods M1–M13 and the statistics, pure functions;
* :mod:`xladdin.workbook` — the weekly tables, the layout renderer, the parameters sheet, templates;
* :mod:`xladdin.ops` — the weekly job, mail, configuration, the command line (``python -m xladdin``).

``tests/test_layers.py`` enforces the rule.
"""
from __future__ import annotations

__version__ = "0.1.0"
