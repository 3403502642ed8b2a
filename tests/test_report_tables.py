"""Tables in the notebooks stay readable on a large corpus: cut to their first rows, saying so."""

import pandas as pd

from storydiff.report import html_discrepancies, html_table


def make_discrepancies(n: int) -> pd.DataFrame:
    """``n`` number discrepancies between articles a and b, each with its own figures."""
    return pd.DataFrame({
        "kind": ["number"] * n, "fact_id": [f"F{i:03d}" for i in range(n)],
        "article_a": ["a"] * n, "article_b": ["b"] * n,
        "value_a": [f"{i}%" for i in range(n)], "value_b": [f"{i + 1}%" for i in range(n)],
        "text_a": [f"Sales rose {i}% in May." for i in range(n)],
        "text_b": [f"Sales rose {i + 1}% in May." for i in range(n)],
        "explanation": [f"a gives {i}%, b {i + 1}%" for i in range(n)],
    })


def test_table_shows_first_rows_and_says_how_many_there_are():
    html = html_table(pd.DataFrame({"x": range(120)}), max_rows=50).data
    assert html.count("<tr") == 51  # header + 50 rows
    assert "First 50 of 120 rows." in html
    assert "First" not in html_table(pd.DataFrame({"x": range(50)}), max_rows=50).data


def test_discrepancies_show_first_rows_and_say_how_many_there_are():
    html = html_discrepancies(make_discrepancies(7), {}, max_rows=3).data
    assert html.count("F0") == 3 and "First 3 of 7 rows." in html
    whole = html_discrepancies(make_discrepancies(7), {}).data
    assert whole.count("F0") == 7 and "First" not in whole


def test_the_head_of_a_larger_table_says_how_many_rows_the_table_has():
    head = pd.DataFrame({"x": range(50)})
    assert "First 50 of 5000 rows." in html_table(head, max_rows=50, n_rows=5000).data
    assert "First 3 of 7000 rows." in html_discrepancies(make_discrepancies(3), {}, max_rows=3, n_rows=7000).data
    assert "First" not in html_table(head, max_rows=50, n_rows=50).data
