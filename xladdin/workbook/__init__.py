"""The weekly workbook (layer 3): the tables of a week, the parameters sheet, the layout renderer.

:mod:`~xladdin.workbook.params` (the parameters sheet), :mod:`~xladdin.workbook.context` (the week's
shared intermediates, built once), :mod:`~xladdin.workbook.weekly` (``compute_weekly``: named steps),
:mod:`~xladdin.workbook.messages` (zh/en texts), :mod:`~xladdin.workbook.summary`,
:mod:`~xladdin.workbook.layout` (renders ``workbooks/layout.toml``), :mod:`~xladdin.workbook.template`
(build / refresh),
:mod:`~xladdin.workbook.report` (values-only report). May import base, :mod:`xladdin.data` and
:mod:`xladdin.methods`.
"""
