"""Amounts for people: stored as integer yuan, shown and typed in 万元 (units of 10,000 yuan)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

YUAN_PER_WAN = 10_000
MAX_YUAN = 10**13  # far above any product's quota, far below a 64-bit integer column
_CENTI = Decimal("0.01")
_MAX_WAN = Decimal(MAX_YUAN) / YUAN_PER_WAN


def wan(yuan: int | None) -> str:
    """500000 -> "50", 1234567 -> "123.46", 123456789000 -> "12,345,678.9"; None -> "".

    Two decimals at most (100 yuan), trailing zeros dropped, thousands separated by commas (the
    convention on Chinese bank statements too)."""
    if yuan is None:
        return ""
    amount = (Decimal(yuan) / YUAN_PER_WAN).quantize(_CENTI, rounding=ROUND_HALF_UP)
    text = f"{amount:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def parse_wan(text: str) -> int:
    """ "50" -> 500000 yuan, "1,234.5678" -> 12345678. Raises ValueError for anything but a positive number
    with at most four decimals (a whole yuan) up to MAX_YUAN, so that a query never overflows a column."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(f"not a number: {text!r}") from error
    if not amount.is_finite() or amount <= 0 or amount > _MAX_WAN:
        raise ValueError(f"not a positive amount in range: {text!r}")
    yuan = amount * YUAN_PER_WAN
    if yuan != yuan.to_integral_value():
        raise ValueError(f"more precise than a yuan: {text!r}")
    return int(yuan)


def rate(percent: float | None) -> str:
    """An annual rate in percent without trailing zeros: 3.45 -> "3.45", 4.0 -> "4"."""
    if percent is None:
        return ""
    return f"{percent:.2f}".rstrip("0").rstrip(".")
