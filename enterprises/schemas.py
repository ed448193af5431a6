"""marshmallow schemas for enterprises, financial profiles and financing needs: one set of rules for the
API, the web forms and any import."""

from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from enterprises.uscc import InvalidCreditCode, validate_uscc
from reference.codes import COLLATERAL_KINDS, FIGURE_SOURCES, NEED_PURPOSES, NEED_STATUSES, codes, is_industry_code

MAX_YUAN = 10**13  # revenue, assets and the like above 10 万亿 yuan are typing errors
MIN_NEED, MAX_NEED = 1_000, 10**10
MAX_TERM_MONTHS = 360
MAX_RATE = 36.0
PHONE = r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$"
PROFILE_COLLATERAL = [code for code in codes(COLLATERAL_KINDS) if code not in ("none", "government_guarantee")]


class CreditCode(fields.String):
    """统一社会信用代码, normalised (spaces removed, upper case) and checked against GB 32100-2015."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_uscc(text)
        except InvalidCreditCode as error:
            raise ValidationError(str(error)) from error


def _industry(value: str) -> None:
    if not is_industry_code(value):
        raise ValidationError(
            "不是有效的国民经济行业代码（门类字母A–T，可加数字，如C、C39） / "
            "not a GB/T 4754-2017 industry code (a section letter A–T, optionally digits: C, C39)"
        )


def _not_in_future(value: date) -> None:
    if value > date.today():
        raise ValidationError("不能晚于今天 / must not be in the future")


def _not_in_past(value: date) -> None:
    if value < date.today():
        raise ValidationError("不能早于今天 / must not be in the past")


class EnterpriseSchema(Schema):
    """The enterprise as registered (and as read back: id, size_class, first_time_borrower are derived)."""

    class Meta:
        unknown = RAISE
        ordered = True

    id = fields.Integer(dump_only=True)
    uscc = CreditCode(required=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    industry = fields.String(required=True, validate=_industry)
    region = fields.String(required=True, validate=validate.Length(min=2, max=100))
    founded_on = fields.Date(required=True, validate=[_not_in_future, validate.Range(min=date(1900, 1, 1))])
    employees = fields.Integer(required=True, validate=validate.Range(min=0, max=1_000_000))
    registered_capital = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
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
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=128))


class EnterpriseUpdateSchema(EnterpriseSchema):
    """What an SME may change later: not its credit code (that would be another enterprise)."""

    class Meta(EnterpriseSchema.Meta):
        exclude = ("uscc", "had_bank_loan")


class ProfileSchema(Schema):
    """One fiscal year's figures in integer yuan. Optional figures left out are stored as unknown."""

    class Meta:
        unknown = RAISE
        ordered = True

    fiscal_year = fields.Integer(dump_only=True)
    annual_revenue = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    net_profit = fields.Integer(required=True, validate=validate.Range(min=-MAX_YUAN, max=MAX_YUAN))
    total_assets = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    total_liabilities = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_YUAN))
    taxes_paid = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_YUAN))
    monthly_settlement_flow = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_YUAN)
    )
    outstanding_loans = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_YUAN))
    overdue_events_24m = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000))
    patents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))
    trademarks = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))
    receivables = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_YUAN))
    main_debtor = fields.String(load_default="", validate=validate.Length(max=200))
    collateral_available = fields.List(fields.String(validate=validate.OneOf(PROFILE_COLLATERAL)), load_default=list)
    social_insurance_headcount = fields.Integer(
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

    id = fields.Integer(dump_only=True)
    amount = fields.Integer(required=True, validate=validate.Range(min=MIN_NEED, max=MAX_NEED))
    purpose = fields.String(required=True, validate=validate.OneOf(codes(NEED_PURPOSES)))
    term_months = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_TERM_MONTHS))
    needed_by = fields.Date(required=True, validate=_not_in_past)
    collateral_offered = fields.List(fields.String(validate=validate.OneOf(codes(COLLATERAL_KINDS))), load_default=list)
    max_rate = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_RATE))
    guarantee_available = fields.Boolean(load_default=False)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    status = fields.String(dump_only=True, validate=validate.OneOf(codes(NEED_STATUSES)))
    created_at = fields.DateTime(dump_only=True)
