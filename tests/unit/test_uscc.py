"""统一社会信用代码 (GB 32100-2015): check character, normalisation, each error, and the guarantee that one
changed character, or one swap of two different characters (but the first with the last), is always caught."""

import random

import pytest
from marshmallow import Schema, ValidationError, fields

from enterprises.uscc import (
    CHARSET,
    InvalidCreditCode,
    check_character,
    is_valid_uscc,
    uscc_validator,
    validate_uscc,
)

# Published codes of well-known enterprises; each one's check character was recomputed by hand from the
# weights below before being listed here.
PUBLISHED = [
    "91110000100005220B",
    "91350100M000100Y43",
    "914403001922038216",
    "91110000600037341L",
    "91310000717866186P",
    "91440300708461136T",
    "91110108551385082Q",
    "91110000802100433B",
]


def reference_check_character(first17: str) -> str:
    """The standard's formula written out independently: C18 = 31 - (Σ Ci·Wi mod 31), 31 -> 0."""
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(CHARSET.index(char) * weight for char, weight in zip(first17, weights, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def test_charset_is_the_standards_31_characters() -> None:
    assert CHARSET == "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert check_character(code[:17]) == code[17] == reference_check_character(code[:17])
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)


def test_generated_codes_agree_with_the_reference_formula() -> None:
    rng = random.Random(32100)
    for _ in range(2000):
        first17 = "".join(rng.choice(CHARSET) for _ in range(2)) + f"{rng.randrange(10**6):06d}"
        first17 += "".join(rng.choice(CHARSET) for _ in range(9))
        expected = reference_check_character(first17)
        assert check_character(first17) == expected
        assert validate_uscc(first17 + expected) == first17 + expected


def test_check_character_can_be_zero() -> None:
    # Σ ≡ 0 (mod 31) gives 31 - 0 = 31, which the standard writes as 0.
    assert check_character("0" * 17) == "0"
    assert is_valid_uscc("0" * 18)


def test_check_character_wants_exactly_17_characters() -> None:
    with pytest.raises(ValueError, match="17"):
        check_character("9111000010000522")


def test_organisation_code_check_digit_is_not_verified() -> None:
    # Position 17 changed from 0 to 1 breaks the GB 11714 check of positions 9-17; with a recomputed
    # 18th character the code is still accepted, by the documented choice.
    first17 = "91110000100005221"
    assert validate_uscc(first17 + check_character(first17)) == first17 + check_character(first17)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("91110000100005220b", "91110000100005220B"),
        (" 9111 0000 1000 0522 0B ", "91110000100005220B"),
        ("\t91350100m000100y43\n", "91350100M000100Y43"),
        ("９１１１００００１００００５２２０Ｂ", "91110000100005220B"),  # full-width, from a Chinese IME
        ("9144\u300003001922038216", "914403001922038216"),  # full-width space
    ],
)
def test_input_is_normalised(raw: str, normalised: str) -> None:
    assert validate_uscc(raw) == normalised


@pytest.mark.parametrize(
    ("code", "zh", "en"),
    [
        ("", "统一社会信用代码应为18位（现为0位）", "must be 18 characters (got 0)"),
        ("9111000010000522", "统一社会信用代码应为18位（现为16位）", "must be 18 characters (got 16)"),
        ("91110000100005220BX", "统一社会信用代码应为18位（现为19位）", "must be 18 characters (got 19)"),
    ],
)
def test_wrong_length(code: str, zh: str, en: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_uscc(code)
    assert (caught.value.zh, caught.value.en) == (zh, en)
    assert str(caught.value) == f"{zh} / {en}"


@pytest.mark.parametrize(
    ("code", "position", "char", "never_used"),
    [
        ("9111000010000522OB", 17, "O", True),
        ("I1110000100005220B", 1, "I", True),
        ("911100001000052Z0B", 16, "Z", True),
        ("91110000S00005220B", 9, "S", True),
        ("91110000100V05220B", 12, "V", True),
        ("91110000100005220-", 18, "-", False),
        ("9111000010000522_B", 17, "_", False),
        ("91110000一00005220B", 9, "一", False),
    ],
)
def test_bad_character_names_its_position(code: str, position: int, char: str, never_used: bool) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_uscc(code)
    assert f"第{position}位字符“{char}”无效" in caught.value.zh
    assert f"invalid character '{char}' at position {position}" in caught.value.en
    assert ("I, O, Z, S, V are never used" in caught.value.en) is never_used
    assert ("不使用字母 I、O、Z、S、V" in caught.value.zh) is never_used


def test_division_code_must_be_six_digits() -> None:
    first17 = "9111A000100005220"
    with pytest.raises(InvalidCreditCode) as caught:
        validate_uscc(first17 + check_character(first17))  # the check character is right: only 3-8 are wrong
    assert caught.value.zh == "第3–8位（登记管理机关行政区划码）应为6位数字（现为“11A000”）"
    assert caught.value.en == "positions 3–8 (administrative division code) must be 6 digits (got '11A000')"


def test_wrong_check_character_says_which_was_expected() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_uscc("91110000100005220C")
    assert caught.value.zh == "校验码错误：第18位应为“B”（现为“C”）"
    assert caught.value.en == "wrong check character: position 18 should be 'B' (got 'C')"
    assert not is_valid_uscc("91110000100005220C")


def test_is_valid_uscc_is_false_for_every_kind_of_error() -> None:
    assert not is_valid_uscc("")
    assert not is_valid_uscc("9111000010000522OB")
    assert not is_valid_uscc("9111A0001000052207")
    assert not is_valid_uscc("91110000100005220C")


@pytest.mark.parametrize("code", PUBLISHED[:4])
def test_any_single_changed_character_is_caught(code: str) -> None:
    for position in range(18):
        for replacement in CHARSET:
            if replacement != code[position]:
                changed = code[:position] + replacement + code[position + 1 :]
                assert not is_valid_uscc(changed), changed


def swapped(code: str, i: int, j: int) -> str:
    chars = list(code)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@pytest.mark.parametrize("code", PUBLISHED[:4])
def test_a_swap_of_two_different_characters_is_caught(code: str) -> None:
    for i in range(18):
        for j in range(i + 1, 18):
            if code[i] != code[j] and (i, j) != (0, 17):
                assert not is_valid_uscc(swapped(code, i, j)), (i, j)


def test_the_one_swap_the_check_cannot_see() -> None:
    # The check character counts with weight 1, like the first character, so swapping those two is invisible.
    assert is_valid_uscc(swapped("91110000600037341L", 0, 17))


def test_marshmallow_validator_raises_validation_error() -> None:
    class Registration(Schema):
        uscc = fields.String(required=True, validate=uscc_validator)

    assert Registration().load({"uscc": "91110000100005220B"}) == {"uscc": "91110000100005220B"}
    with pytest.raises(ValidationError) as caught:
        Registration().load({"uscc": "91110000100005220C"})
    assert caught.value.messages == {
        "uscc": ["校验码错误：第18位应为“B”（现为“C”） / wrong check character: position 18 should be 'B' (got 'C')"]
    }
