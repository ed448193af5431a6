"""marshmallow schemas for enterprises, financial profiles and financing needs: one set of rules for the
API, the web forms and any import."""

from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from accounts.schemas import NEW_PASSWORD
from enterprises.uscc import InvalidCreditCode, validate_uscc
from reference.china_time import china_today
from reference.codes import COLLATERAL_KINDS, FIGURE_SOURCES, NEED_PURPOSES, NEED_STATUSES, codes
from reference.fields import WholeNumber

MAX_YUAN = 10**13  # revenue, assets and the like above 10 万亿 yuan are typing errors
MIN_NEED, MAX_NEED = 1_000, 10**10
MAX_TERM_MONTHS = 360
MAX_RATE = 36.0
REGION = r"^(?:[0-9]{6}|[\u4e00-\u9fffA-Za-z0-9·（）()\- ]{2,100})$"
# ASCII digits only: Python's \d also matches other scripts' digits (Arabic-Indic ٠, Devanagari ०, ...).
PHONE = r"^(\+?86[- ]?)?(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?)$"
# The credit code's alphabet (0-9 and A-Y without I, O, S, V, Z) and layout (positions 3-8 the division
# code), documented as the OpenAPI pattern so that generated and hand-written clients send plausible codes;
# the check character is verified by enterprises.uscc.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
# A GB/T 4754-2017 section letter and up to four digits (大类 2, 中类 3, 小类 4); ASCII digits only.
INDUSTRY_PATTERN = r"^[A-T][0-9]{0,4}$"
PROFILE_COLLATERAL = [code for code in codes(COLLATERAL_KINDS) if code not in ("none", "government_guarantee")]


class CreditCode(fields.String):
    """统一社会信用代码, normalised (spaces removed, upper case) and checked against GB 32100-2015."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_uscc(text)
        except InvalidCreditCode as error:
            raise ValidationError(str(error)) from error


def _not_in_future(value: date) -> None:
    if value > china_today():
        raise ValidationError("不能晚于今天 / must not be in the future")


def _not_in_past(value: date) -> None:
    if value < china_today():
        raise ValidationError("不能早于今天 / must not be in the past")


class EnterpriseSchema(Schema):
    """The enterprise as registered (and as read back: id, size_class, first_time_borrower are derived)."""

    class Meta:
        unknown = RAISE
        ordered = True

    id = WholeNumber(dump_only=True)
    uscc = CreditCode(
        required=True,
        metadata={
            "pattern": USCC_PATTERN,
            "description": "统一社会信用代码; spaces are removed, full-width characters folded and letters "
            "upper-cased before the check",
        },
    )
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    industry = fields.String(
        required=True,
        validate=validate.Regexp(
            INDUSTRY_PATTERN,
            error="不是有效的国民经济行业代码（门类字母A–T，可加至多4位数字，如C、C39） / "
            "not a GB/T 4754-2017 industry code (a section letter A–T, optionally up to 4 digits: C, C39)",
        ),
    )
    region = fields.String(
        required=True,
        validate=[
            validate.Length(min=2, max=100),
            validate.Regexp(REGION, error="请填写行政区划名称或6位代码 / a division name or its 6-digit code"),
        ],
    )
    founded_on = fields.Date(required=True, validate=[_not_in_future, validate.Range(min=date(1900, 1, 1))])
    employees = WholeNumber(required=True, validate=validate.Range(min=0, max=1_000_000))
    registered_capital = WholeNumber(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    contact_person = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(
        required=True, validate=validate.Regexp(PHONE, error="不是有效的手机或座机号码 / not a Chinese phone number")
    )
    email = fields.Email(required=True, validate=validate.Length(max=254))
    had_bank_loan = fields.Boolean(load_default=False, load_only=True)
    specialised_innovative = fields.Boolean(load_default=False)
    settlement_banks = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    size_class = fields.String(dump_only=True)
    first_time_borrower = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class RegistrationSchema(EnterpriseSchema):
    password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)


class EnterpriseUpdateSchema(EnterpriseSchema):
    """What an SME may change later: not its credit code (that would be another enterprise)."""

    class Meta(EnterpriseSchema.Meta):
        exclude = ("uscc", "had_bank_loan")


class ProfileSchema(Schema):
    """One fiscal year's figures in integer yuan. Optional figures left out are stored as unknown."""

    class Meta:
        unknown = RAISE
        ordered = True

    fiscal_year = WholeNumber(dump_only=True)
    annual_revenue = WholeNumber(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    net_profit = WholeNumber(required=True, validate=validate.Range(min=-MAX_YUAN, max=MAX_YUAN))
    total_assets = WholeNumber(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    total_liabilities = WholeNumber(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    taxes_paid = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_YUAN))
    monthly_settlement_flow = WholeNumber(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_YUAN)
    )
    outstanding_loans = WholeNumber(load_default=0, validate=validate.Range(min=0, max=MAX_YUAN))
    overdue_events_24m = WholeNumber(load_default=0, validate=validate.Range(min=0, max=1000))
    patents = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))
    trademarks = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))
    receivables = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_YUAN))
    main_debtor = fields.String(load_default="", validate=validate.Length(max=200))
    collateral_available = fields.List(fields.String(validate=validate.OneOf(PROFILE_COLLATERAL)), load_default=list)
    social_insurance_headcount = WholeNumber(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=1_000_000)
    )
    audited = fields.Boolean(load_default=False)
    figure_sources = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.OneOf(codes(FIGURE_SOURCES))), load_default=dict
    )
    debt_ratio = fields.Float(dump_only=True, allow_none=True)
    profit_margin = fields.Float(dump_only=True, allow_none=True)
    tax_to_revenue = fields.Float(dump_only=True, allow_none=True)
    flow_to_revenue = fields.Float(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _sources_name_figures(self, data: dict[str, Any], **kwargs: Any) -> None:
        figures = {
            name for name, field in self.fields.items() if isinstance(field, fields.Integer) and not field.dump_only
        }
        unknown = sorted(set(data.get("figure_sources", {})) - figures)
        if unknown:
            raise ValidationError(f"不是财务指标 / not profile figures: {', '.join(unknown)}", "figure_sources")


PROFILE_FIGURES = [
    name for name, field in ProfileSchema().fields.items() if isinstance(field, fields.Integer) and not field.dump_only
]
PROFILE_STORED = [name for name, field in ProfileSchema().fields.items() if not field.dump_only] + ["fiscal_year"]


class NeedSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    id = WholeNumber(dump_only=True)
    amount = WholeNumber(required=True, validate=validate.Range(min=MIN_NEED, max=MAX_NEED))
    purpose = fields.String(required=True, validate=validate.OneOf(codes(NEED_PURPOSES)))
    term_months = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_TERM_MONTHS))
    needed_by = fields.Date(required=True, validate=_not_in_past)
    collateral_offered = fields.List(fields.String(validate=validate.OneOf(codes(COLLATERAL_KINDS))), load_default=list)
    max_rate = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_RATE))
    guarantee_available = fields.Boolean(load_default=False)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    status = fields.String(dump_only=True, validate=validate.OneOf(codes(NEED_STATUSES)))
    created_at = fields.DateTime(dump_only=True)
