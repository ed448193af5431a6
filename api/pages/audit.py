"""The audit log page for the platform operator and regulators: every change of a product, a proposal or a
loan, newest first, filtered by record, actor and date (the same entries and filters as GET /api/v1/audit).
Anonymous visitors are sent to sign in; banks and SMEs get 403."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from accounts.audit import SYSTEM, AuditEntry, AuditFilter, list_entries
from accounts.models import Account, Role
from api.database import session
from api.pages.access import session_roles_required
from api.pages.layout import locale_name
from reference.codes import AUDIT_ACTIONS, AUDIT_ENTITY_KINDS, codes, label

bp = Blueprint("audit_log", __name__, url_prefix="/audit")

PER_PAGE = 50
MAX_PAGE = 100_000
MAX_ID = 2_147_483_647
FILTER_NAMES = ("entity_kind", "entity_id", "actor_id", "from", "to")
READERS = (Role.ADMIN, Role.REGULATOR)
ROLE_LABELS = {
    Role.ADMIN: _l("platform operator"),
    Role.BANK: _l("bank"),
    Role.REGULATOR: _l("regulator"),
    Role.SME: _l("enterprise"),
    SYSTEM: _l("system"),
}


audit_reader_required = session_roles_required(
    READERS,
    _l("Please sign in with an operator's or a regulator's access token."),
    _l("The audit log is only for the platform operator and regulators."),
)


@dataclass
class AuditForm:
    """The filters as typed (shown back in the inputs), what they mean, and a message for each field that
    could not be understood (that field is left out of the query)."""

    values: dict[str, str]
    filters: AuditFilter = field(default_factory=AuditFilter)
    errors: dict[str, str] = field(default_factory=dict)
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> "AuditForm":
        form = cls(values={name: args.get(name, "").strip() for name in FILTER_NAMES})
        kind = form.values["entity_kind"]
        if kind and kind not in codes(AUDIT_ENTITY_KINDS):
            form.errors["entity_kind"] = _("Choose a kind of record from the list.")
        start, end = form._date("from"), form._date("to")
        form.filters = AuditFilter(
            entity_kind=kind if kind and "entity_kind" not in form.errors else None,
            entity_id=form._id("entity_id"),
            actor_account_id=form._id("actor_id"),
            since=datetime.combine(start, time(), UTC) if start else None,
            until=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        )
        page = args.get("page", "1")
        form.page = int(page) if page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE else 1
        return form

    def _id(self, name: str) -> int | None:
        text = self.values[name]
        if not text:
            return None
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID:
            return int(text)
        self.errors[name] = _("Enter a record number, a whole number from 1.")
        return None

    def _date(self, name: str) -> date | None:
        text = self.values[name]
        if not text:
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        if day is None or not date(1970, 1, 1) <= day < date(9999, 12, 31):
            self.errors[name] = _("Enter a date as YYYY-MM-DD, for example 2026-01-31.")
            return None
        return day

    def page_url(self, page: int) -> str:
        kept = {name: value for name, value in self.values.items() if value and name not in self.errors}
        return url_for("audit_log.index", **kept, page=page)


@dataclass(frozen=True)
class Change:
    """One field of an entry: its value before and after, or the identifier it carries unchanged."""

    name: str
    before: str
    after: str
    changed: bool


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(_shown(item) for item in value) or "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def changes(entry: AuditEntry) -> list[Change]:
    """The entry's fields in the order recorded: identifiers (same before and after) and changed values."""
    before, after = entry.before, entry.after or {}
    names = list(after) + [name for name in before or {} if name not in after]
    rows = []
    for name in names:
        new = _shown(after.get(name))
        if before is None:
            rows.append(Change(name, "", new, True))
            continue
        old = _shown(before.get(name))
        rows.append(Change(name, old, new, before.get(name) != after.get(name)))
    return rows


@bp.get("")
@audit_reader_required
def index(_reader: Account) -> tuple[str, int]:
    form = AuditForm.from_args(request.args)
    items, total = list_entries(session(), form.filters, form.page, PER_PAGE)
    html = render_template(
        "audit/index.html",
        form=form,
        items=items,
        total=total,
        page=form.page,
        pages=max(1, ceil(total / PER_PAGE)),
        entity_kinds=AUDIT_ENTITY_KINDS,
        kind_label=lambda code: label(AUDIT_ENTITY_KINDS, code, locale_name()),
        action_label=lambda code: label(AUDIT_ACTIONS, code, locale_name()),
        role_label=lambda role: ROLE_LABELS.get(role, role),
        changes=changes,
    )
    return html, 422 if form.errors else 200
