"""Refresh entry points for Excel (RunPython) and xlwings Lite."""
