"""The regulators' dashboard (regulator and admin accounts): credit granted, the funnel from demand to credit,
the banks' responsiveness and risk, for a period and filters chosen in a GET form, as figures at a glance,
charts (api/static/js/dashboard.js with the vendored Chart.js) and a table under each chart with the same
figures. The figures come from matchmaker.stats; groups of fewer than three enterprises are shown as "—"."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from accounts.models import Account, Role
from api.database import in_sessions_of_their_own, session
from api.pages import stats_display as display
from api.pages.access import session_roles_required
from api.pages.forms import localise
from api.pages.layout import locale_name
from enterprises.regions import registered_regions
from matchmaker import stats
from matchmaker.stats_csv import stats_csv
from matchmaker.stats_sql import one_process_per_statement
from products.models import Bank
from reference.china_time import china_today
from reference.codes import INDUSTRY_SECTIONS, PRODUCT_TYPES, REJECT_REASONS, SIZE_CLASSES, Code

bp = Blueprint("regulator", __name__, url_prefix="/regulator")

DASHBOARD_ROLES = (Role.REGULATOR, Role.ADMIN)
FILTER_NAMES = ("from", "to", "bank", "product_type", "region", "size_class", "industry")
DEFAULT_GROUP_BY: stats.GroupBy = "bank"
QUARTERS_OFFERED = 6
# The dimensions of the "by" selector, in matchmaker.stats.GROUPINGS order.
GROUPINGS: tuple[Code, ...] = (
    Code("bank", "银行", "bank"),
    Code("product_type", "产品类型", "product type"),
    Code("industry", "行业门类", "industry section"),
    Code("region", "地区", "region"),
    Code("size_class", "企业规模", "size class"),
    Code("month", "月份", "month"),
)
# Grouped by these, matchmaker.stats.funnel leaves the figures about all needs empty (a need is not
# addressed to a bank or a product type).
NEEDS_NOT_BY = ("bank", "product_type")
# The page's statistics run on this many database connections at once (api.database.in_sessions_of_their_own).
STATISTICS_CONNECTIONS = 2
FUNNEL_STEPS = ("needs_submitted", "needs_proposed", "proposals", "accepted", "granted")
TOTALS_HEADERS = {column.name: column for column in stats.TOTALS_COLUMNS}
FUNNEL_HEADERS = {column.name: column for column in stats.FUNNEL_COLUMNS}


dashboard_account_required = session_roles_required(
    DASHBOARD_ROLES,
    _l("Please sign in with your regulator or operator access token."),
    _l("The financing statistics are only for regulator and operator accounts."),
)


@dataclass
class DashboardForm:
    """The filter form as typed (``values``), what it means (``filters``, ``group_by``) and a message for
    each field that could not be understood; with any error the page shows the form and no figures."""

    values: dict[str, str]
    filters: stats.StatsFilter = field(default_factory=stats.StatsFilter)
    group_by: stats.GroupBy = DEFAULT_GROUP_BY
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> "DashboardForm":
        form = cls(values={name: args.get(name, "").strip() for name in (*FILTER_NAMES, "group_by")})
        values = form.values
        dates = {name: form._date(name) for name in ("from", "to")}
        bank_id = form._bank()
        try:
            form.group_by = stats.check_group_by(values["group_by"]) or DEFAULT_GROUP_BY
        except stats.StatsFilterError as error:
            form.errors["group_by"] = localise(error.message)
        if form.errors:
            return form
        try:
            form.filters = stats.StatsFilter(
                date_from=dates["from"],
                date_to=dates["to"],
                bank_id=bank_id,
                product_type=values["product_type"] or None,
                region=values["region"] or None,
                size_class=values["size_class"] or None,
                industry=values["industry"] or None,
            )
        except stats.StatsFilterError as error:
            form.errors[error.field] = localise(error.message)
        return form

    def _date(self, name: str) -> date | None:
        text = self.values[name]
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.errors[name] = _("Enter a date such as 2026-12-31.")
            return None

    def _bank(self) -> int | None:
        text = self.values["bank"]
        if not text:
            return None
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            self.errors["bank"] = _("Choose a bank from the list.")
            return None
        return int(text)

    def query(self, **changes: str) -> dict[str, str]:
        """The form's non-empty values with ``changes``, as query arguments (for links and CSV downloads)."""
        merged = {**self.values, **changes}
        return {name: value for name, value in merged.items() if value}


def quarters(today: date, count: int = QUARTERS_OFFERED) -> list[tuple[str, date, date]]:
    """The current quarter and the ones before it, newest first: (label, first day, last day)."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    result = []
    for _step in range(count):
        first = date(year, 3 * quarter - 2, 1)
        last = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - timedelta(days=1)
        result.append((_("Q%(quarter)d %(year)d", quarter=quarter, year=year), first, last))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return result


def _choices() -> dict[str, tuple[Code, ...]]:
    """The select lists of the filter form: banks by name, regions as registered, and the code lists."""
    banks = session().scalars(select(Bank).order_by(Bank.name)).all()
    regions = registered_regions(session())
    return {
        "bank": tuple(Code(str(bank.id), bank.name, bank.name) for bank in banks),
        "region": tuple(Code(region, region, region) for region in regions),
        "product_type": PRODUCT_TYPES,
        "size_class": SIZE_CLASSES,
        "industry": INDUSTRY_SECTIONS,
        "group_by": GROUPINGS,
    }


def sharing_rule() -> stats.SharingRule:
    """How the risk-compensation fund shares a loss: the operator's setting (MATCHMAKER_RISK_SHARING)."""
    rule: stats.SharingRule = current_app.config["RISK_SHARING"]
    return rule


def figures(flt: stats.StatsFilter, group_by: stats.GroupBy) -> dict[str, Any]:
    """Every figure the page shows, with the tables and charts made of them."""
    locale = locale_name()
    sharing = sharing_rule()
    flt = stats.drop_period_holding_everything(session(), flt)  # the same figures, from the tallies
    # The longest first, as measured over the whole history (bench/stats.py), so that the two connections
    # finish together: the sums over the loans (for the totals, the risk and the months), the banks' view's
    # sums, the funnel, the banks' median response times, the median rates by month, the whole funnel, the
    # median rates. The banks' view and the funnel by bank are about the same proposals, or mostly the same
    # with a period: one pass.
    one_pass = group_by == "bank"
    jobs: dict[str, Callable[[Session], Any]] = {
        "loan_sums": lambda db: stats.loan_sums(db, flt, group_by),
        "banks": lambda db: stats.bank_figures(db, flt, with_funnel=one_pass),
    }
    if not one_pass:
        jobs["funnel"] = lambda db: stats.funnel(db, flt, group_by)
    jobs["response_medians"] = lambda db: stats.response_medians(db, flt)
    if group_by != "month":
        jobs["month_rates"] = lambda db: stats.median_rates(db, flt, "month")
    if group_by in NEEDS_NOT_BY:  # grouped so, the rows count proposals only; the whole funnel comes ungrouped
        jobs["whole_funnel"] = lambda db: stats.funnel(db, flt)
    jobs["rates"] = lambda db: stats.median_rates(db, flt, group_by)
    done = in_sessions_of_their_own(
        {name: _one_process_each(job) for name, job in jobs.items()}, STATISTICS_CONNECTIONS
    )
    (totals, totals_groups), (risk, risk_groups), months = stats.totals_and_risk_rows(
        session(), done["loan_sums"], done["rates"], done.get("month_rates", done["rates"]), sharing
    )
    (banks, bank_rows), by_bank = stats.bank_rows(session(), done["banks"], done["response_medians"])
    funnel_total, funnel_groups = by_bank or done["funnel"]
    funnel = done["whole_funnel"][0] if "whole_funnel" in done else funnel_total
    return {
        "totals": totals,
        "totals_table": display.table(totals_groups, stats.TOTALS_COLUMNS, locale, totals),
        "months_table": display.table(months, stats.TOTALS_COLUMNS, locale),
        "funnel": funnel,
        "funnel_steps": [(FUNNEL_HEADERS[name].header(locale), getattr(funnel, name)) for name in FUNNEL_STEPS],
        "funnel_table": display.table(funnel_groups, stats.FUNNEL_COLUMNS, locale, funnel_total),
        "banks_table": display.table(bank_rows, stats.BANK_RESPONSE_COLUMNS, locale, banks),
        "rejections": _rejections(bank_rows, banks, locale),
        "risk_table": display.table(risk_groups, stats.RISK_COLUMNS, locale, risk),
        "sharing": sharing,
        "charts": _charts(locale, totals_groups, months, funnel),
        "any_suppressed": any(
            row.suppressed
            for rows in (
                [totals, funnel_total, banks, risk],
                totals_groups,
                months,
                funnel_groups,
                bank_rows,
                risk_groups,
            )
            for row in rows
        ),
    }


def _one_process_each(job: Callable[[Session], Any]) -> Callable[[Session], Any]:
    return lambda db: job(one_process_per_statement(db))


def _charts(
    locale: str, groups: list[stats.TotalsRow], months: list[stats.TotalsRow], funnel: stats.FunnelRow
) -> list[dict[str, Any]]:
    """The bars by dimension and the monthly line (credit granted, 万元) and the funnel (counts)."""
    granted, first_loans = TOTALS_HEADERS["granted_amount"], TOTALS_HEADERS["first_loan_amount"]

    def labels(rows: list[stats.TotalsRow]) -> list[str]:
        return [row.group.label(locale) for row in rows if row.group is not None]

    wan_axis = _("10,000 yuan")
    return [
        display.chart(
            "chart-groups",
            "bar",
            labels(groups),
            [(display.header(granted, locale), display.column_chart_values(groups, granted))],
            wan_axis,
        ),
        display.chart(
            "chart-months",
            "line",
            labels(months),
            [
                (display.header(granted, locale), display.column_chart_values(months, granted)),
                (display.header(first_loans, locale), display.column_chart_values(months, first_loans)),
            ],
            wan_axis,
        ),
        display.chart(
            "chart-funnel",
            "funnel",
            [FUNNEL_HEADERS[name].header(locale) for name in FUNNEL_STEPS],
            [(_("Number"), [getattr(funnel, name) for name in FUNNEL_STEPS])],
            "",
        ),
    ]


def _rejections(rows: list[stats.BankResponseRow], overall: stats.BankResponseRow, locale: str) -> display.Table:
    """Rejections by reason code: one column per reason used, one row per bank and the total."""
    used = {reason.code for row in (*rows, overall) for reason in (row.rejections or ())}
    reasons = [reason for reason in REJECT_REASONS if reason.code in used]
    codes = [reason.code for reason in reasons]
    headers = [reason.label(locale) for reason in reasons]

    def cells(row: stats.BankResponseRow) -> list[str]:
        if row.rejections is None:
            return [display.SUPPRESSED] * len(codes)
        counts = {reason.code: reason.count for reason in row.rejections}
        return [f"{counts.get(code, 0):,}" for code in codes]

    body = [(row.group.label(locale), row.suppressed, cells(row)) for row in rows if row.group is not None]
    body.append((_("Total"), overall.suppressed, cells(overall)))
    return display.Table(headers, body)


def _page(form: DashboardForm, **figures: Any) -> str:
    return render_template(
        "regulator/dashboard.html",
        form=form,
        choices=_choices(),
        quarters=quarters(china_today()),
        grouping=next(code for code in GROUPINGS if code.code == form.group_by),
        **figures,
    )


def _form_with_errors(form: DashboardForm) -> tuple[str, int]:
    """The filter form with a message beside each field it could not understand, and no figures."""
    return _page(form), 422


@bp.get("")
@dashboard_account_required
def dashboard(account: Account) -> str | tuple[str, int]:
    form = DashboardForm.from_args(request.args)
    if form.errors:
        return _form_with_errors(form)
    return _page(form, **figures(form.filters, form.group_by))


Report = Callable[[stats.StatsFilter, stats.GroupBy], tuple[Any, list[Any]]]
REPORTS: dict[str, tuple[Report, tuple[stats.Column, ...]]] = {
    "totals": (lambda flt, group_by: stats.totals(session(), flt, group_by), stats.TOTALS_COLUMNS),
    "funnel": (lambda flt, group_by: stats.funnel(session(), flt, group_by), stats.FUNNEL_COLUMNS),
    "banks": (lambda flt, _group_by: stats.bank_responsiveness(session(), flt), stats.BANK_RESPONSE_COLUMNS),
    "risk": (lambda flt, group_by: stats.risk(session(), flt, group_by, sharing_rule()), stats.RISK_COLUMNS),
}


@bp.get("/<any(totals, funnel, banks, risk):report>.csv")
@dashboard_account_required
def export(account: Account, report: str) -> Response | tuple[str, int]:
    """One of the page's tables as the API's CSV (matchmaker.stats_csv), with the page's filters, for the
    signed-in browser; ``headers`` en gives English headers, Chinese otherwise."""
    form = DashboardForm.from_args(request.args)
    if form.errors:
        return _form_with_errors(form)
    query, columns = REPORTS[report]
    overall, groups = query(stats.drop_period_holding_everything(session(), form.filters), form.group_by)
    text = stats_csv(overall, groups, columns, "en" if request.args.get("headers") == "en" else "zh")
    filename = f"{report}-{china_today().isoformat()}.csv"
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
