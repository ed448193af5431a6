"""marshmallow fields shared by the domain schemas."""

from typing import Any

from marshmallow import ValidationError, fields


class WholeNumber(fields.Integer):
    """An integer that refuses to truncate: 5000.99 or true is an error, not 5000 or 1. Strings of digits
    ("5000", as in a CSV cell) and integral floats (5000.0) are accepted."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValidationError("Not a whole number.")
        return super()._validated(value)
