"""HTML forms on top of the domain's marshmallow schemas: typed text in, schema input out, and the
schema's errors back next to each field in the page's language, with every typed value kept.

A form is a list of ``FormField``s. ``kind`` says how the typed text becomes schema input: amounts are
typed in 万元 ("50", "50.5", "1,200") and stored in yuan; check boxes become booleans; a group of check
boxes becomes a list."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from api.formatting import MAX_YUAN, YUAN_PER_WAN, wan
from reference.codes import Code

MAX_WAN = Decimal(MAX_YUAN) / YUAN_PER_WAN
LIST_SEPARATORS = re.compile(r"[,，、;；]")


@dataclass(frozen=True)
class FormField:
    """kind: text, textarea, password, email, tel, date, int, wan, rate, select, checkbox, checks, or list
    (several names in one text box, separated by commas or 、)."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    hint: str = ""
    choices: tuple[Code, ...] = ()  # for select and checks, labelled in the page's language
    signed: bool = False  # a wan amount that may be negative (net profit)
    attrs: dict[str, str] = field(default_factory=dict)  # extra input attributes: autocomplete, inputmode


def parse_amount_wan(text: str, signed: bool = False) -> int:
    """ "50" -> 500000 yuan; "1,200" and "1，200" -> 12000000; "-3.5" (signed) -> -35000."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(_("Enter an amount in 10,000 yuan, for example 50 or 50.5.")) from error
    if not amount.is_finite() or (amount < 0 and not signed):
        raise ValueError(_("Enter an amount in 10,000 yuan, for example 50 or 50.5."))
    if abs(amount) > MAX_WAN:
        raise ValueError(_("This amount is too large."))
    yuan = amount * YUAN_PER_WAN
    if yuan != yuan.to_integral_value():
        raise ValueError(_("At most four decimals (one yuan)."))
    return int(yuan)


def parse_form(fields: list[FormField], form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Schema input from the posted form, and the fields whose text could not even be read."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in fields:
        if spec.kind == "checkbox":
            data[spec.name] = spec.name in form
            continue
        if spec.kind == "checks":
            data[spec.name] = form.getlist(spec.name)
            continue
        # A password is a secret taken exactly as typed (sign-in compares it so, and the API stores it so).
        text = form.get(spec.name, "") if spec.kind == "password" else form.get(spec.name, "").strip()
        if text == "":
            continue  # absent: the schema applies its default or says the field is required
        if "\x00" in text:
            errors[spec.name] = _("Remove the invisible control character from this field.")
            continue
        if spec.kind == "wan":
            try:
                data[spec.name] = parse_amount_wan(text, spec.signed)
            except ValueError as error:
                errors[spec.name] = str(error)
        elif spec.kind == "list":
            data[spec.name] = [item.strip() for item in LIST_SEPARATORS.split(text) if item.strip()]
        else:
            data[spec.name] = text
    return data, errors


def typed_values(fields: list[FormField], form: MultiDict[str, str]) -> dict[str, Any]:
    """What the user typed, to show it again after an error."""
    return {
        spec.name: form.getlist(spec.name) if spec.kind == "checks" else form.get(spec.name, "")
        for spec in fields
        if spec.kind != "password"
    } | {spec.name: spec.name in form for spec in fields if spec.kind == "checkbox"}


def stored_values(fields: list[FormField], record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as form values (yuan shown in 万元, without thousands separators)."""
    values: dict[str, Any] = {}
    for spec in fields:
        value = record.get(spec.name)
        if spec.kind == "wan" and value is not None:
            values[spec.name] = wan(value).replace(",", "")
        elif spec.kind == "list":
            values[spec.name] = "、".join(value or [])
        elif spec.kind in ("checkbox", "checks"):
            values[spec.name] = value or ([] if spec.kind == "checks" else False)
        else:
            values[spec.name] = "" if value is None else str(value)
    return values


Adjust = Callable[[dict[str, Any], dict[str, str]], None]


def load(
    schema: Schema, fields: list[FormField], form: MultiDict[str, str], adjust: Adjust | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse and validate; returns (data, errors) with errors keyed by form field, in the page's language.
    ``adjust`` reshapes the parsed input before the schema sees it (form-only fields such as a password
    confirmation), adding its own errors."""
    data, errors = parse_form(fields, form)
    if adjust is not None:
        adjust(data, errors)
    try:
        loaded = schema.load(data)
    except ValidationError as error:
        messages = error.normalized_messages()
        kinds = {spec.name: spec.kind for spec in fields}
        for name, problems in messages.items():
            if name not in errors:
                errors[name] = localise(_first(problems), kinds.get(name, "text"))
        return data, errors
    return loaded, errors


def _first(problems: Any) -> str:
    """The first message of a field's errors (lists and per-item dicts included)."""
    if isinstance(problems, dict):
        return _first(next(iter(problems.values())))
    if isinstance(problems, list):
        return _first(problems[0]) if problems else ""
    return str(problems)


def _number(text: str, kind: str) -> str:
    """A bound from a marshmallow message, in the unit the user types (万元 for amounts)."""
    if kind == "wan":
        return wan(int(Decimal(text)))
    return text


_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^Missing data for required field\.$|^Field may not be null\.$"), lambda m, k: _("Required.")),
    (re.compile(r"^Not a valid (integer|number)\.$"), lambda m, k: _("Enter a number.")),
    (re.compile(r"^Not a whole number\.$"), lambda m, k: _("Enter a whole number.")),
    (re.compile(r"^Not a valid date\.$"), lambda m, k: _("Enter a date such as 2026-12-31.")),
    (re.compile(r"^Not a valid email address\.$"), lambda m, k: _("Enter an email address such as name@example.cn.")),
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        lambda m, k: _("Must be between %(low)s and %(high)s.", low=_number(m[1], k), high=_number(m[2], k)),
    ),
    (
        re.compile(r"^Must be greater than or equal to (\S+)\.$"),
        lambda m, k: _("Must be at least %(low)s.", low=_number(m[1], k)),
    ),
    (
        re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
        lambda m, k: _("Must be %(low)s to %(high)s characters long.", low=m[1], high=m[2]),
    ),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), lambda m, k: _("At least %(low)s characters.", low=m[1])),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m, k: _("At most %(high)s characters.", high=m[1])),
    (re.compile(r"^Must be one of: .*\.$"), lambda m, k: _("Choose one of the options.")),
    (re.compile(r"^Unknown field\.$"), lambda m, k: _("This field is not accepted here.")),
]


def localise(message: str, kind: str = "text") -> str:
    """A schema message in the page's language. The domain writes its own messages as "中文 / English";
    marshmallow's standard messages are matched and translated here."""
    if " / " in message:
        chinese, english = message.split(" / ", 1)
        return english if str(get_locale()).startswith("en") else chinese
    for pattern, render in _PATTERNS:
        match = pattern.match(message)
        if match:
            return render(match, kind)
    return message
