"""Export a bank's products as CSV in the import format (see products.csv_format)."""

import csv
import io
from collections.abc import Iterable
from typing import Literal

from products.csv_format import COLUMNS, to_cell
from products.models import LoanProduct

BOM = "\ufeff"  # without it Excel reads UTF-8 as the local code page and garbles the Chinese


def export_csv(products: Iterable[LoanProduct], headers: Literal["en", "zh"] = "en") -> str:
    """The products as CSV text starting with a BOM; cells a spreadsheet would run as formulas are
    neutralised with a leading apostrophe, which the import removes again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(COLUMNS.values()) if headers == "zh" else list(COLUMNS))
    for product in products:
        writer.writerow([to_cell(getattr(product, name)) for name in COLUMNS])
    return BOM + buffer.getvalue()
