"""Tables of text written without pandas' formatter (``report.write_text_table``): the same
characters as ``DataFrame.to_html``, and pandas still formats every other kind of column."""

import numpy as np
import pandas as pd
import pytest

from storydiff.report import html_table, write_text_table, wrap_view


def write_with_pandas(df: pd.DataFrame) -> str:
    """What ``html_table`` wrote for every frame before it wrote text tables itself."""
    return df.to_html(index=False, escape=True, na_rep="", border=0)


TEXT_FRAMES = {
    "corpus text": pd.DataFrame({
        "label": ["001 · Gazette", " leading", "trailing  ", "two  spaces", "three   spaces", "tab\there", "line\nbreak",
                  "carriage\rreturn", "<script>alert(1)</script> & co", "it's \"quoted\"", "\u00a0nbsp\u2009", "é ü 中", ""],
        "n_sentences": np.arange(-6, 7),
        "text": pd.Series([np.nan, *(["a sentence " * 30] * 12)], dtype=object),
    }),
    "missing strings": pd.DataFrame({"title": pd.Series([np.nan, np.nan], dtype="str"), "n": np.array([1, 2], dtype=np.uint8)}),
    "headers": pd.DataFrame({"tab\tname": ["a"], "amp & <b>": ["b"], " two  spaces ": ["c"]}),
}
OTHER_FRAMES = {
    "floats": pd.DataFrame({"score": [0.5, 0.25], "text": ["a", "b"]}),
    "booleans": pd.DataFrame({"covered": [True, False]}),
    "None in an object column": pd.DataFrame({"text": pd.Series(["a", None], dtype=object)}),
    "nullable integers": pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}),
    "a column named by a number": pd.DataFrame({0: ["a"]}),
}


@pytest.mark.parametrize("name", list(TEXT_FRAMES))
def test_a_text_table_is_written_as_pandas_writes_it(name: str) -> None:
    df = TEXT_FRAMES[name]
    assert write_text_table(df) == write_with_pandas(df)
    assert html_table(df).data == wrap_view(write_with_pandas(df))


@pytest.mark.parametrize("name", list(OTHER_FRAMES))
def test_other_columns_are_left_to_pandas(name: str) -> None:
    """Floats (pandas gives a column a common precision), booleans, None ("None" to pandas) and
    the rest are not written here."""
    df = OTHER_FRAMES[name]
    assert write_text_table(df) is None
    assert html_table(df).data == wrap_view(write_with_pandas(df))
