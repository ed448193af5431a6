"""marshmallow schemas for loan products. The same schema validates the API body, the portal form and
every row of a CSV/JSON import, so that the rules live in one place."""

from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from reference.codes import (
    COLLATERAL_KINDS,
    PRODUCT_STATUSES,
    PRODUCT_TYPES,
    SIZE_CLASSES,
    codes,
    is_industry_code,
)
from reference.fields import WholeNumber

MAX_AMOUNT = 10**11  # 1,000 亿元: larger than any single SME loan
MAX_QUOTA = 10**13
MAX_TERM_MONTHS = 360
MAX_RATE = 36.0  # annual %, the judicial cap on private lending is far below this

TRUTHY = fields.Boolean.truthy | {"是", "有", "需要"}
FALSY = fields.Boolean.falsy | {"否", "无", "不需要"}


def validate_industry_code(value: str) -> None:
    """A GB/T 4754-2017 section letter, optionally followed by the deeper digits (C, C39, C3911)."""
    if not is_industry_code(value):
        raise ValidationError("not a GB/T 4754-2017 industry code (a section letter A–T, optionally digits: C, C39)")


class ProductSchema(Schema):
    """A loan product as banks publish it (API JSON keys and CSV English headers)."""

    class Meta:
        unknown = RAISE
        ordered = True

    id = WholeNumber(dump_only=True)
    code = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=64),
            validate.Regexp(r"^[A-Za-z0-9_.\-]+$", error="letters, digits, _ . - only"),
        ],
    )
    bank_id = WholeNumber(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(codes(PRODUCT_TYPES)))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    amount_min = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    amount_max = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    term_min_months = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_TERM_MONTHS))
    term_max_months = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_TERM_MONTHS))
    rate_min = fields.Float(required=True, validate=validate.Range(min=0, max=MAX_RATE))
    rate_max = fields.Float(required=True, validate=validate.Range(min=0, max=MAX_RATE))
    collateral = fields.List(
        fields.String(validate=validate.OneOf(codes(COLLATERAL_KINDS))),
        load_default=lambda: ["none"],
    )
    quota = WholeNumber(required=True, validate=validate.Range(min=0, max=MAX_QUOTA))
    granted_total = WholeNumber(dump_only=True)
    review_capacity = WholeNumber(load_default=100, validate=validate.Range(min=0, max=1_000_000))
    min_years_in_business = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    min_annual_revenue = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_QUOTA),
    )
    max_debt_ratio = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1))
    max_pd = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1))
    industries = fields.List(fields.String(validate=validate_industry_code), load_default=list)
    excluded_industries = fields.List(fields.String(validate=validate_industry_code), load_default=list)
    regions = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    size_classes = fields.List(fields.String(validate=validate.OneOf(codes(SIZE_CLASSES))), load_default=list)
    requires_settlement_account = fields.Boolean(load_default=False, truthy=TRUTHY, falsy=FALSY)
    first_loan_friendly = fields.Boolean(load_default=False, truthy=TRUTHY, falsy=FALSY)
    approval_days = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=365))
    online_only = fields.Boolean(load_default=False, truthy=TRUTHY, falsy=FALSY)
    supports_renewal = fields.Boolean(load_default=False, truthy=TRUTHY, falsy=FALSY)
    risk_compensation_eligible = fields.Boolean(load_default=False, truthy=TRUTHY, falsy=FALSY)
    status = fields.String(load_default="active", validate=validate.OneOf(codes(PRODUCT_STATUSES)))
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = consistency_errors(data)
        if errors:
            raise ValidationError(errors)


def consistency_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """Cross-field rules, checked on whatever of the product is known (a full body, or a PATCH merged
    into the stored product)."""
    errors: dict[str, list[str]] = {}

    def ordered(low: str, high: str) -> None:
        if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
            errors.setdefault(low, []).append(f"{low} must not be greater than {high}")

    ordered("amount_min", "amount_max")
    ordered("term_min_months", "term_max_months")
    ordered("rate_min", "rate_max")
    ordered("valid_from", "valid_to")
    if data.get("quota") is not None and data.get("amount_max") is not None and data["quota"] < data["amount_max"]:
        errors.setdefault("quota", []).append("quota must be at least amount_max")
    collateral = data.get("collateral") or []
    if "none" in collateral and len(collateral) > 1:
        errors.setdefault("collateral", []).append("'none' (unsecured) cannot be combined with other collateral")
    overlap = set(data.get("industries") or []) & set(data.get("excluded_industries") or [])
    if overlap:
        errors.setdefault("excluded_industries", []).append(
            f"industries both allowed and excluded: {', '.join(sorted(overlap))}"
        )
    return errors
