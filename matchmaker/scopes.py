"""The scopes within which the statistics count an enterprise or a need once: all of its rows, those at one
bank, those of one product type, or those at one bank of one type. A filter or a grouping by the bank and/or
the product type narrows a row of the statistics to one of them (:func:`scope_for`). The columns that the
loans and the proposals keep per scope (matchmaker.previous_loans, matchmaker.previous_proposals) are named
``prefix + scope.suffix + ending``."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement


@dataclass(frozen=True)
class Scope:
    suffix: str
    bank: bool
    product_type: bool

    def name(self, prefix: str, ending: str = "") -> str:
        return f"{prefix}{self.suffix}{ending}"

    def partition(self, model: Any, *leading: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        """``leading`` (e.g. the enterprise), then the model's bank and product type as the scope takes them."""
        return [
            *leading,
            *([model.bank_id] if self.bank else []),
            *([model.product_type] if self.product_type else []),
        ]


SCOPES = (
    Scope("", bank=False, product_type=False),
    Scope("_at_bank", bank=True, product_type=False),
    Scope("_of_type", bank=False, product_type=True),
    Scope("_at_bank_of_type", bank=True, product_type=True),
)


def scope_for(*, bank: bool, product_type: bool) -> Scope:
    """The scope of a row narrowed (or not) to one bank and/or one product type."""
    return next(scope for scope in SCOPES if (scope.bank, scope.product_type) == (bank, product_type))
