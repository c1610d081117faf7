"""Entry point of xladdin_weekly.xlsm for xlwings (written by `xladdin template`).

The workbook's Refresh button runs xlwings' ``SampleCall``:
``RunPython "import xladdin_weekly; xladdin_weekly.main()"`` (module name = workbook name), and the xlwings
ribbon's *Run main* does the same. Both land here and run the shared refresh.
"""
from xladdin_macros.refresh import main  # noqa: F401

if __name__ == "__main__":  # debug from an IDE: python xladdin_weekly.py (Windows/macOS with Excel open)
    import xlwings as xw

    xw.Book("xladdin_weekly.xlsm").set_mock_caller()
    main()
