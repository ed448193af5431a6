"""Figures as they appear in explanations: amounts in 万元 for Chinese readers and in yuan for English ones,
rates and ratios in percent. matchmaker may not import api, whose formatting serves the pages; these are
the same conventions (at most two decimals, trailing zeros dropped)."""

import functools

YUAN_PER_WAN = 10_000


@functools.lru_cache(maxsize=1 << 16)  # a round formats the same amounts, rates and limits tens of thousands of times
def _trim(number: float, decimals: int = 2) -> str:
    text = f"{number:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def wan_zh(yuan: float) -> str:
    """5000000 -> "500 万元"; four decimals at most, so that one yuan over a limit still shows."""
    return f"{_trim(yuan / YUAN_PER_WAN, 4)} 万元"


def yuan_en(yuan: float) -> str:
    """5000000 -> "5,000,000 yuan"."""
    return f"{_trim(yuan, 0)} yuan"


def percent(value: float) -> str:
    """An annual rate already in percent: 4.2 -> "4.2%"."""
    return f"{_trim(value, 4)}%"


def fraction(value: float) -> str:
    """A ratio or probability between 0 and 1 as a percent: 0.0125 -> "1.25%"."""
    return f"{_trim(100 * value, 3)}%"


def years(value: float) -> str:
    """Years with one decimal: 2.13 -> "2.1" (callers round down a duration held, up a duration to wait)."""
    return _trim(value, 1)
