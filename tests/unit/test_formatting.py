"""Amounts in 万元 and rates as people read and type them."""

import pytest

from api.formatting import MAX_YUAN, parse_wan, rate, wan


@pytest.mark.parametrize(
    ("yuan", "shown"),
    [
        (500_000, "50"),
        (1_234_567, "123.46"),
        (10_000, "1"),
        (15_000, "1.5"),
        (100, "0.01"),
        (49, "0"),
        (0, "0"),
        (10_000_000, "1,000"),
        (123_456_789_000, "12,345,678.9"),
        (None, ""),
    ],
)
def test_wan(yuan: int | None, shown: str) -> None:
    assert wan(yuan) == shown


@pytest.mark.parametrize(
    ("text", "yuan"),
    [("50", 500_000), ("123.4567", 1_234_567), (" 1,000 ", 10_000_000), ("1，000", 10_000_000), ("0.0001", 1)],
)
def test_parse_wan(text: str, yuan: int) -> None:
    assert parse_wan(text) == yuan


@pytest.mark.parametrize("text", ["", "abc", "-5", "0", "nan", "inf", "1e400", "0.00001", str(MAX_YUAN)])
def test_parse_wan_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_wan(text)


@pytest.mark.parametrize(("percent", "shown"), [(3.45, "3.45"), (4.0, "4"), (10.0, "10"), (3.5, "3.5"), (None, "")])
def test_rate(percent: float | None, shown: str) -> None:
    assert rate(percent) == shown
