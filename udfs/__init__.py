"""Excel adapters (xlwings UDFs) over the xladdin core."""
