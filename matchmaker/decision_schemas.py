"""marshmallow schemas of a bank's decisions and ledger reports: the API bodies and the portal forms load
these, so that both refuse the same input. They check shapes and bounds; the rules that depend on the
stored proposal, product or loan (the product's ranges, the need left, the quota, the balance) are
``matchmaker.decisions``' and ``matchmaker.ledger``'s."""

from marshmallow import RAISE, Schema, fields, validate

from matchmaker.ledger import REPORTABLE_KINDS
from products.schemas import MAX_AMOUNT, MAX_RATE, MAX_TERM_MONTHS
from reference.codes import LOAN_KINDS, REJECT_REASONS, codes
from reference.fields import WholeNumber

MAX_NOTE = 2000
MAX_ID = 2_147_483_647


class RejectSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.OneOf(codes(REJECT_REASONS)))
    note = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_NOTE),
        metadata={"description": "Shown to the enterprise; required when the reason is 'other'"},
    )


class GrantSchema(Schema):
    class Meta:
        unknown = RAISE

    amount = WholeNumber(
        required=True,
        validate=validate.Range(min=1, max=MAX_AMOUNT),
        metadata={"description": "Yuan; may be less than the need, within the product's range and quota"},
    )
    rate = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=MAX_RATE),
        metadata={"description": "Annual percent, within the product's rate range"},
    )
    term_months = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_TERM_MONTHS))
    granted_on = fields.Date(required=True, metadata={"description": "Between the proposal's date and today"})
    kind = fields.String(required=True, validate=validate.OneOf(codes(LOAN_KINDS)))


class CreditEventSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(REPORTABLE_KINDS))
    amount = WholeNumber(
        required=True,
        validate=validate.Range(min=-MAX_AMOUNT, max=MAX_AMOUNT),
        metadata={"description": "Yuan; positive, except a correction's signed change"},
    )
    occurred_on = fields.Date(required=True, metadata={"description": "Between the grant date and today"})
    note = fields.String(load_default="", validate=validate.Length(max=MAX_NOTE))
    corrects_event_id = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "For a correction: the event of this loan it corrects"},
    )
    term_months = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_TERM_MONTHS),
        metadata={"description": "For a renewal: the new term"},
    )
