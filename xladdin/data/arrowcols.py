"""Arrow columns as pandas columns (text as pandas' ``str`` dtype), with the sorted codes of
dictionary-encoded text obtained while decoding (used by the parquet and CSV readers)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_to_pandas(column, strip: bool = False) -> tuple:
    """An Arrow column as a pandas column (text as pandas' ``str`` dtype); a dictionary-encoded text
    column is decoded (stripped with ``strip``) and also yields its sorted codes: (Arrow array of the
    pandas column, codes, uniques), see :func:`decode_dictionary`; None otherwise."""
    fz = None
    if pa.types.is_dictionary(column.type):
        column, fz = decode_dictionary(column, strip)
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    out = column.to_pandas(types_mapper=lambda t: text if pa.types.is_string(t) or pa.types.is_large_string(t) else None)
    return out, (out.array._pa_array, *fz) if fz is not None else None


def decode_dictionary(column, strip: bool = False) -> tuple:
    """A dictionary-encoded text column as plain text, and its sorted codes ``(codes, uniques)``
    (None when the column has missing values): the same as ``pd.factorize(sort=True)``. With
    ``strip`` the values lose surrounding whitespace first (as ``Series.str.strip()``)."""
    column = column.unify_dictionaries()
    value_type = column.type.value_type
    if pa.types.is_string(value_type):  # decode straight to the large strings pandas' `str` dtype holds
        value_type = pa.large_string()  # (else pandas converts all of them once more)
    if column.num_chunks == 0:
        return column.cast(value_type), None
    dictionary = column.chunk(0).dictionary
    if strip:  # strip the (small) dictionary, then decode through it
        dictionary = pc.utf8_trim_whitespace(dictionary).cast(value_type)
        plain = pa.chunked_array([pc.take(dictionary, c.indices) for c in column.chunks], type=value_type)
    else:
        plain = column.cast(value_type)
    if column.null_count:
        return plain, None
    words = np.asarray(dictionary.to_pylist(), dtype=object)
    indices = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in column.chunks])
    used = np.zeros(len(words), dtype=bool)
    used[indices] = True  # uniques are the values present (a dictionary may hold more, or repeats once stripped)
    uniques, rank = np.unique(words[used], return_inverse=True)
    to_code = np.full(len(words), -1, dtype=np.int64)
    to_code[np.flatnonzero(used)] = rank
    codes = to_code[indices]
    codes = codes.astype(np.int32) if len(uniques) < 2 ** 31 - 1 else codes
    return plain, (codes, pd.Index(uniques, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
