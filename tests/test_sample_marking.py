"""The embedded sample is marked wherever it travels (issue #26): one fact (``Market.sample``), kept by a
copy of the sample written to a folder, and shown by every output built from it; real data never is."""
from __future__ import annotations

from xladdin.data import SAMPLE_MARKER, load_market, write_market
from xladdin.data.market import Market


# ----------------------------------------------------------------------------- the one fact
def test_the_sample_is_the_sample_and_real_data_is_not(sample_market, real_market):
    assert sample_market.sample is True
    assert sample_market.subset("2026-01-01", "2026-03-31").sample is True
    assert real_market.sample is False
    assert Market({}).sample is False  # a market built in memory is real unless it says otherwise


def test_a_copy_of_the_sample_in_a_folder_loads_as_the_sample(sample_market, tmp_path):
    small = sample_market.subset("2026-06-01", None)
    paths = write_market(small, tmp_path / "s")
    assert (tmp_path / "s" / SAMPLE_MARKER).is_file()
    assert SAMPLE_MARKER not in [p.name for p in paths]  # the tables' paths only
    assert load_market(tmp_path / "s").sample is True
    # the same tables written as real data (sample=False): no marker, loaded as real
    real = Market(dict(small.tables), source="memory")
    write_market(real, tmp_path / "r")
    assert not (tmp_path / "r" / SAMPLE_MARKER).exists()
    assert load_market(tmp_path / "r").sample is False
