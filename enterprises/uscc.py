"""统一社会信用代码 (unified social credit code, GB 32100-2015).

Layout of the 18 characters (positions counted from 1):

    1      登记管理部门代码 (registration authority: 1 机构编制, 5 民政, 9 工商/市场监管, Y 其他, ...)
    2      机构类别代码 (organisation type within that authority)
    3–8    登记管理机关行政区划码 (administrative division code, GB/T 2260: six digits)
    9–17   主体标识码 (the organisation code body of GB 11714, whose own check character is position 17)
    18     校验码 (check character over positions 1–17)

Choices:

- Authority and type codes (positions 1–2) are only checked against the character set: the list of
  authorities has grown since 2015, and refusing a real enterprise because this table is older than its
  registration would be worse than accepting an unknown pair.
- The GB 11714 check character at position 17 is not verified. The national standard's check is the 18th
  character, which already catches every single-character error and nearly every swap of two different
  characters (see ``_WEIGHTS``). A second, older check would only add a way to reject codes that the
  registration authority has issued and published.
- Whitespace (including full-width spaces) is removed, full-width letters and digits (typed with a Chinese
  input method) are folded to ASCII, and letters are upper-cased before checking. Positions in error
  messages are those of that normalised code.
"""

import unicodedata

from marshmallow import ValidationError

# The 31 characters in value order: digits, then capital letters without I, O, Z, S, V.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {char: value for value, char in enumerate(CHARSET)}
# w_i = 3^(i-1) mod 31. 3 has order 30 modulo the prime 31, so the 17 weights are distinct and non-zero:
# changing one character always changes the sum modulo 31, and so does swapping two different ones, except
# the first with the 18th (the check character counts with weight 1, the same as the first).
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18
_NEVER_USED = "IOZSV"


class InvalidCreditCode(ValueError):
    """A code that is not a valid 统一社会信用代码; the message is bilingual ("中文 / English")."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} / {en}")


def normalise(code: str) -> str:
    """Fold full-width forms to ASCII, drop all whitespace and upper-case ASCII letters."""
    folded = unicodedata.normalize("NFKC", code)
    return "".join(char.upper() if char.isascii() else char for char in folded if not char.isspace())


def _check_charset(text: str) -> None:
    for position, char in enumerate(text, start=1):
        if char not in _VALUES:
            hint_zh, hint_en = "", ""
            if char in _NEVER_USED:
                hint_zh = "（统一社会信用代码不使用字母 I、O、Z、S、V）"
                hint_en = " (the letters I, O, Z, S, V are never used)"
            raise InvalidCreditCode(
                f"第{position}位字符“{char}”无效：只能是数字或大写字母{hint_zh}",
                f"invalid character '{char}' at position {position}: only digits and capital letters{hint_en}",
            )


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (already normalised): (31 - Σ value·weight mod 31) mod 31."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"check_character needs the first 17 characters (got {len(first17)})")
    _check_charset(first17)
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """The normalised code, or InvalidCreditCode saying what is wrong (length, a character, the division
    code, the check character), checked in that order."""
    text = normalise(code)
    if len(text) != LENGTH:
        raise InvalidCreditCode(
            f"统一社会信用代码应为18位（现为{len(text)}位）",
            f"must be 18 characters (got {len(text)})",
        )
    _check_charset(text)
    division = text[2:8]
    if not division.isdigit():
        raise InvalidCreditCode(
            f"第3–8位（登记管理机关行政区划码）应为6位数字（现为“{division}”）",
            f"positions 3–8 (administrative division code) must be 6 digits (got '{division}')",
        )
    expected = check_character(text[:17])
    if text[17] != expected:
        raise InvalidCreditCode(
            f"校验码错误：第18位应为“{expected}”（现为“{text[17]}”）",
            f"wrong check character: position 18 should be '{expected}' (got '{text[17]}')",
        )
    return text


def is_valid_uscc(code: str) -> bool:
    try:
        validate_uscc(code)
    except InvalidCreditCode:
        return False
    return True


def uscc_validator(value: str) -> None:
    """For ``fields.String(validate=uscc_validator)``. It cannot change the loaded value: a schema that
    stores the code should load it through ``validate_uscc`` (as enterprises.schemas.CreditCode does)."""
    try:
        validate_uscc(value)
    except InvalidCreditCode as error:
        raise ValidationError(str(error)) from error
