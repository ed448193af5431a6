"""The audit log for operators and regulators: every change of a product, a proposal or a loan, with who
made it, when, and the changed fields before and after (``accounts.audit``). Read-only: nobody can change
or delete an entry, not even through the database (triggers refuse it)."""

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from accounts.audit import AuditFilter, list_entries
from api.auth import protected
from api.database import session
from api.v1.schemas import ApiBlueprint, PageArgs, page_of
from reference.codes import AUDIT_ACTIONS, AUDIT_ENTITY_KINDS, codes

blp = ApiBlueprint("audit", __name__, description="Operators and regulators: the audit log of every change")

MAX_ID = 2_147_483_647


class UtcDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 time, read as UTC when it has no offset and returned in UTC. A time with no UTC equivalent
    in Python (year 1 at +01:00) is before or after every entry: it becomes the first or last one there is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


class AuditQueryArgs(PageArgs):
    entity_kind = ma.fields.String(validate=ma.validate.OneOf(codes(AUDIT_ENTITY_KINDS)))
    entity_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))
    actor_id = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=MAX_ID), metadata={"description": "The acting account's id"}
    )
    since = UtcDateTime(
        data_key="from",
        metadata={"description": "Entries at or after this time (ISO 8601; UTC when no offset is given)"},
    )
    until = UtcDateTime(
        data_key="to",
        metadata={"description": "Entries before this time (ISO 8601; UTC when no offset is given)"},
    )


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    entity_kind = ma.fields.String(metadata={"description": ", ".join(codes(AUDIT_ENTITY_KINDS))})
    entity_id = ma.fields.Integer()
    action = ma.fields.String(metadata={"description": ", ".join(codes(AUDIT_ACTIONS))})
    actor_account_id = ma.fields.Integer(allow_none=True, metadata={"description": "null for the system"})
    actor_role = ma.fields.String(metadata={"description": "admin, bank, regulator, sme, or system"})
    actor_name = ma.fields.String(metadata={"description": "The account's name, or what acted as the system"})
    system_actor = ma.fields.String(allow_none=True)
    occurred_at = ma.fields.DateTime(metadata={"description": "UTC"})
    before = ma.fields.Dict(allow_none=True, metadata={"description": "The changed fields before (null: created)"})
    after = ma.fields.Dict(allow_none=True, metadata={"description": "The changed fields after, with identifiers"})
    note = ma.fields.String()


@blp.route("")
class AuditLog(MethodView):
    @protected(blp, "admin", "regulator")
    @blp.arguments(AuditQueryArgs, location="query")
    @blp.response(200, page_of(AuditEntrySchema, "AuditEntryList"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Audit entries, newest first, filtered by entity, actor and time (from inclusive, to exclusive)."""
        page, per_page = args.pop("page"), args.pop("per_page")
        filters = AuditFilter(
            entity_kind=args.get("entity_kind"),
            entity_id=args.get("entity_id"),
            actor_account_id=args.get("actor_id"),
            since=args.get("since"),
            until=args.get("until"),
        )
        items, total = list_entries(session(), filters, page, per_page)
        return {"items": items, "total": total, "page": page, "per_page": per_page}
