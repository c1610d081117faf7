"""The weekly workbook (layer 3): the tables of a week, the parameters sheet, the layout renderer.

:mod:`~xladdin.workbook.params` (the parameters: ``SPECS`` and the typed ``Params``),
:mod:`~xladdin.workbook.context` (the week's shared intermediates, built once, and the steps' results),
:mod:`~xladdin.workbook.weekly` (``compute_weekly``: the declared ``STEPS``),
:mod:`~xladdin.workbook.messages` (zh/en texts), :mod:`~xladdin.workbook.summary` (the mail's);
rendering ``workbooks/layout.toml``: :mod:`~xladdin.workbook.layout` (its model and loading),
:mod:`~xladdin.workbook.layoutcheck` (its rules), :mod:`~xladdin.workbook.refs` (A1 references),
:mod:`~xladdin.workbook.plan` (where each table and chart goes), :mod:`~xladdin.workbook.render` (through a
writer: :mod:`~xladdin.workbook.openpyxl_writer`, :mod:`~xladdin.workbook.xlwings_writer`; what they own on a
sheet and check first: :mod:`~xladdin.workbook.placement`);
:mod:`~xladdin.workbook.template` (build / refresh), :mod:`~xladdin.workbook.report` (values-only report).
May import base, :mod:`xladdin.data` and :mod:`xladdin.methods`. docs/architecture.md shows how they fit.
"""
