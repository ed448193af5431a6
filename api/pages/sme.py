"""The SME's own pages: register, sign in, "my enterprise", financial profiles per fiscal year, new
financing need, "my needs". Chinese first; every form is validated by the domain's schemas."""

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import Account, Role
from accounts.tokens import new_session_token
from api.auth import cookie_account
from api.database import session
from api.pages.forms import FormField, load, localise, stored_values, typed_values
from api.pages.session_pages import restart_session, safe_next
from enterprises.errors import EnterpriseError
from enterprises.models import Enterprise, FinancialProfile
from enterprises.schemas import (
    PROFILE_COLLATERAL,
    EnterpriseUpdateSchema,
    NeedSchema,
    ProfileSchema,
    RegistrationSchema,
)
from enterprises.service import (
    authenticate,
    create_need,
    own_need,
    register,
    save_profile,
    update_enterprise,
    withdraw_need,
)
from enterprises.size_class import size_basis
from enterprises.uscc import InvalidCreditCode, validate_uscc
from matchmaker.credit_scores import ScoringUnavailable, current_score, improvement, pd_band
from matchmaker.need_view import eligibility_advice, proposal_view, proposals_by_need
from reference.china_time import china_today
from reference.codes import COLLATERAL_KINDS, INDUSTRY_SECTIONS, NEED_PURPOSES, NEED_STATUSES, PROPOSAL_STATUSES, label
from reference.ratios import derived_ratios

bp = Blueprint("sme", __name__)

_COLLATERAL_OFFERED = tuple(code for code in COLLATERAL_KINDS if code.code != "none")
_PROFILE_COLLATERAL = tuple(code for code in COLLATERAL_KINDS if code.code in PROFILE_COLLATERAL)

ENTERPRISE_FIELDS = [
    FormField("name", _l("Enterprise name"), required=True, attrs={"autocomplete": "organization"}),
    FormField("industry", _l("Industry (GB/T 4754-2017 section)"), "select", True, choices=INDUSTRY_SECTIONS),
    FormField(
        "industry_detail",
        _l("Detailed industry code (optional)"),
        hint=_l("For example F52 for retail or I65 for software; it decides the size-class thresholds."),
    ),
    FormField("region", _l("Region"), required=True, hint=_l("County or district name, or its division code.")),
    FormField("founded_on", _l("Date founded"), "date", True),
    FormField("employees", _l("Employees"), "int", True, attrs={"inputmode": "numeric"}),
    FormField("registered_capital", _l("Registered capital (10,000 yuan)"), "wan", True),
    FormField("contact_person", _l("Contact person"), required=True, attrs={"autocomplete": "name"}),
    FormField("phone", _l("Phone"), "tel", True, attrs={"autocomplete": "tel"}),
    FormField("email", _l("Email"), "email", True, attrs={"autocomplete": "email"}),
    FormField(
        "specialised_innovative", _l("Recognised as a specialised and innovative (专精特新) enterprise"), "checkbox"
    ),
    FormField(
        "settlement_banks",
        _l("Banks where you hold a settlement account"),
        "list",
        hint=_l("Separate several banks with commas."),
    ),
]

REGISTRATION_FIELDS = [
    FormField(
        "uscc",
        _l("Unified social credit code"),
        required=True,
        hint=_l("18 characters, printed on your business licence."),
        attrs={"autocapitalize": "characters", "spellcheck": "false"},
    ),
    *ENTERPRISE_FIELDS,
    FormField("had_bank_loan", _l("We have borrowed from a bank before"), "checkbox"),
    FormField(
        "password",
        _l("Password"),
        "password",
        True,
        _l("At least 8 characters."),
        attrs={"autocomplete": "new-password"},
    ),
    FormField("password_confirm", _l("Password again"), "password", True, attrs={"autocomplete": "new-password"}),
]

PROFILE_FIELDS = [
    FormField("annual_revenue", _l("Annual revenue (10,000 yuan)"), "wan", True),
    FormField("net_profit", _l("Net profit (10,000 yuan)"), "wan", True, _l("Negative for a loss."), signed=True),
    FormField("total_assets", _l("Total assets (10,000 yuan)"), "wan", True),
    FormField("total_liabilities", _l("Total liabilities (10,000 yuan)"), "wan", True),
    FormField("taxes_paid", _l("Taxes paid in the year (10,000 yuan)"), "wan"),
    FormField("monthly_settlement_flow", _l("Average monthly bank settlement flow (10,000 yuan)"), "wan"),
    FormField("outstanding_loans", _l("Outstanding bank loans (10,000 yuan)"), "wan"),
    FormField("overdue_events_24m", _l("Overdue repayments in the last 24 months"), "int"),
    FormField("patents", _l("Patents"), "int"),
    FormField("trademarks", _l("Registered trademarks"), "int"),
    FormField("receivables", _l("Accounts receivable (10,000 yuan)"), "wan"),
    FormField("main_debtor", _l("Main debtor of the receivables")),
    FormField("collateral_available", _l("Collateral you could pledge"), "checks", choices=_PROFILE_COLLATERAL),
    FormField("social_insurance_headcount", _l("Staff with social insurance paid"), "int"),
    FormField("audited", _l("These figures come from audited statements"), "checkbox"),
]

NEED_FIELDS = [
    FormField("amount", _l("Amount needed (10,000 yuan)"), "wan", True, _l("For example 50 for 500,000 yuan.")),
    FormField("purpose", _l("Purpose"), "select", True, choices=NEED_PURPOSES),
    FormField("term_months", _l("Term (months)"), "int", True),
    FormField("needed_by", _l("Needed by"), "date", True),
    FormField("collateral_offered", _l("Collateral you can offer"), "checks", choices=_COLLATERAL_OFFERED),
    FormField(
        "max_rate", _l("Highest annual rate you accept (%)"), "rate", hint=_l("Leave empty if you have no limit.")
    ),
    FormField("guarantee_available", _l("A guarantor or guarantee company is available"), "checkbox"),
    FormField("note", _l("Anything the bank should know"), "textarea"),
]


def signed_in_enterprise() -> Enterprise | None:
    account = cookie_account()
    if account is None or account.role != Role.SME:
        return None
    return session().get(Enterprise, account.enterprise_id)


def enterprise_or_login() -> Enterprise:
    enterprise = signed_in_enterprise()
    if enterprise is None:
        abort(redirect(url_for("sme.login", next=request.full_path.rstrip("?"))))
    return enterprise


def form_page(template: str, fields: list[FormField], values: dict[str, Any], errors: dict[str, str], **context: Any):  # type: ignore[no-untyped-def]
    """The form page; 422 when it is shown again with errors."""
    return render_template(template, fields=fields, values=values, errors=errors, **context), 422 if errors else 200


def merge_industry(data: dict[str, Any], errors: dict[str, str]) -> None:
    """The detailed code (e.g. F52) replaces the section letter when it belongs to that section."""
    detail = str(data.pop("industry_detail", "")).strip().upper()
    if detail:
        if data.get("industry") and not detail.startswith(data["industry"]):
            errors["industry_detail"] = _("The detailed code must start with the section letter you chose.")
        data["industry"] = detail


def check_registration(data: dict[str, Any], errors: dict[str, str]) -> None:
    merge_industry(data, errors)
    if data.pop("password_confirm", None) != data.get("password"):
        errors["password_confirm"] = _("The two passwords differ.")


def sign_in(account: Account) -> None:
    row = new_session_token(session(), account)
    restart_session()
    cookie_session["token_id"] = row.id


@bp.route("/register", methods=["GET", "POST"])
def register_page():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return form_page("sme/register.html", REGISTRATION_FIELDS, {}, {})
    data, errors = load(RegistrationSchema(), REGISTRATION_FIELDS, request.form, check_registration)
    if not errors:
        try:
            enterprise, account = register(session(), data)
        except EnterpriseError as error:
            session().rollback()
            errors = {name: localise(messages[0]) for name, messages in error.errors.items()}
        else:
            sign_in(account)
            session().commit()
            flash(_("Welcome, %(name)s. Next, fill in your financial profile.", name=enterprise.name), "success")
            return redirect(url_for("sme.profiles"))
    return form_page("sme/register.html", REGISTRATION_FIELDS, typed_values(REGISTRATION_FIELDS, request.form), errors)


@bp.route("/enterprise/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("sme/login.html", uscc="", error=None, next_path=next_path)
    typed = request.form.get("uscc", "")
    try:
        account = authenticate(session(), validate_uscc(typed), request.form.get("password", ""))
    except InvalidCreditCode:
        account = None
    if account is None:
        error = _("The credit code or the password is wrong.")
        return render_template("sme/login.html", uscc=typed, error=error, next_path=next_path), 422
    sign_in(account)
    session().commit()
    return redirect(next_path or url_for("sme.needs"))


@bp.get("/enterprise")
def enterprise_page():  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    latest = enterprise.profiles[-1] if enterprise.profiles else None
    basis = size_basis(
        enterprise.industry,
        enterprise.employees,
        latest.annual_revenue if latest else None,
        latest.total_assets if latest else None,
        str(get_locale()),
    )
    return render_template(
        "sme/enterprise.html", enterprise=enterprise, basis=basis, latest=latest, **score_context(enterprise)
    )


def score_context(enterprise: Enterprise) -> dict[str, Any]:
    """The enterprise's current score, its PD band and what would improve it, for the page (empty when there is
    no profile yet or no active model; the page says which)."""
    try:
        score = current_score(session(), enterprise)
        better = improvement(session(), enterprise, score) if score is not None else None
    except ScoringUnavailable:
        return {"score": None, "scoring_unavailable": True}
    session().commit()
    return {"score": score, "band": pd_band(score.grade) if score else None, "better": better}


@bp.route("/enterprise/edit", methods=["GET", "POST"])
def edit_enterprise():  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    if request.method == "GET":
        values = stored_values(ENTERPRISE_FIELDS, {name: getattr(enterprise, name, None) for name in _EDITABLE})
        values["industry"], values["industry_detail"] = (
            enterprise.industry[:1],
            enterprise.industry[1:] and enterprise.industry,
        )
        return form_page("sme/edit.html", ENTERPRISE_FIELDS, values, {})
    data, errors = load(EnterpriseUpdateSchema(), ENTERPRISE_FIELDS, request.form, merge_industry)
    if errors:
        return form_page("sme/edit.html", ENTERPRISE_FIELDS, typed_values(ENTERPRISE_FIELDS, request.form), errors)
    update_enterprise(session(), enterprise, data)
    session().commit()
    flash(_("Your enterprise's details are saved."), "success")
    return redirect(url_for("sme.enterprise_page"))


_EDITABLE = [spec.name for spec in ENTERPRISE_FIELDS if spec.name != "industry_detail"]


@bp.get("/enterprise/profiles")
def profiles():  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    rows = [(profile, derived_ratios(_figures(profile))) for profile in reversed(enterprise.profiles)]
    this_year = china_today().year
    missing_years = [
        year for year in range(this_year, this_year - 4, -1) if year not in {p.fiscal_year for p, _r in rows}
    ]
    return render_template("sme/profiles.html", rows=rows, missing_years=missing_years)


def _figures(profile: FinancialProfile) -> dict[str, Any]:
    return {spec.name: getattr(profile, spec.name) for spec in PROFILE_FIELDS}


@bp.route("/enterprise/profiles/<int(max=9999):year>", methods=["GET", "POST"])
def profile_form(year: int):  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    if not 2000 <= year <= china_today().year:
        abort(404)
    existing = next((profile for profile in enterprise.profiles if profile.fiscal_year == year), None)
    if request.method == "GET":
        values = stored_values(PROFILE_FIELDS, _figures(existing)) if existing else {}
        return form_page("sme/profile_form.html", PROFILE_FIELDS, values, {}, year=year)
    data, errors = load(ProfileSchema(), PROFILE_FIELDS, request.form)
    if errors:
        values = typed_values(PROFILE_FIELDS, request.form)
        return form_page("sme/profile_form.html", PROFILE_FIELDS, values, errors, year=year)
    save_profile(session(), enterprise, year, data)
    session().commit()
    flash(_("The %(year)s profile is saved.", year=year), "success")
    return redirect(url_for("sme.profiles"))


@bp.get("/needs")
def needs():  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    needs = list(reversed(enterprise.needs))
    grouped = proposals_by_need(session(), [need.id for need in needs])
    proposals = {need_id: [proposal_view(p) for p in rows] for need_id, rows in grouped.items()}
    advice = {need.id: eligibility_advice(session(), need) for need in needs if need.status == "open"}
    session().commit()  # scores computed on the way
    return render_template("sme/needs.html", needs=needs, proposals=proposals, advice=advice)


@bp.route("/needs/new", methods=["GET", "POST"])
def new_need():  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    if request.method == "GET":
        return form_page("sme/need_form.html", NEED_FIELDS, {}, {})
    data, errors = load(NeedSchema(), NEED_FIELDS, request.form)
    if errors:
        return form_page("sme/need_form.html", NEED_FIELDS, typed_values(NEED_FIELDS, request.form), errors)
    create_need(session(), enterprise, data)
    session().commit()
    flash(_("Your financing need is submitted. Matching banks will see it in the next matching round."), "success")
    return redirect(url_for("sme.needs"))


@bp.post("/needs/<int(max=2147483647):need_id>/withdraw")
def withdraw(need_id: int):  # type: ignore[no-untyped-def]
    enterprise = enterprise_or_login()
    need = own_need(session(), enterprise.id, need_id)
    if need is None:
        abort(404)
    try:
        withdraw_need(session(), need)
    except EnterpriseError:
        flash(_("This need can no longer be withdrawn."), "error")
    else:
        session().commit()
        flash(_("The need is withdrawn."), "success")
    return redirect(url_for("sme.needs"))


@bp.app_template_filter("percent")
def percent_filter(ratio: float | None) -> str:
    """0.523 -> "52.3%"; unknown -> "—"."""
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


@bp.app_template_filter("need_purpose")
def need_purpose_filter(code: str) -> str:
    return label(NEED_PURPOSES, code, str(get_locale()))


@bp.app_template_filter("need_status")
def need_status_filter(code: str) -> str:
    return label(NEED_STATUSES, code, str(get_locale()))


@bp.app_template_filter("proposal_status")
def proposal_status_filter(code: str) -> str:
    return label(PROPOSAL_STATUSES, code, str(get_locale()))
