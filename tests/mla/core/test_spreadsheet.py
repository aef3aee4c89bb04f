import pytest

from mla.core.spreadsheet import csv_cell_neutralised, csv_cell_restored


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+2", "'\uff1d1+2"),
        ("'quoted", "''quoted"),
        ("Ministry of Justice", "Ministry of Justice"),
        ("", ""),
        (-3, -3),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text_and_read_back(value, written):
    assert csv_cell_neutralised(value) == written
    assert csv_cell_restored(written) == value
