"""What every page's layout needs: the signed-in account for the nav, the language links, and the filters
that turn stored values (yuan, percent, codes) into text for the current language.

The blueprint has no routes; it only registers these app-wide so that error pages get them too."""

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from accounts.models import Account
from api import formatting
from api.auth import cookie_account
from api.database import session
from products.demo import SYNTHETIC_MARK
from products.models import LoanProduct
from reference.codes import (
    COLLATERAL_KINDS,
    INDUSTRY_SECTIONS,
    PRODUCT_STATUSES,
    PRODUCT_TYPES,
    SIZE_CLASSES,
    label,
)

bp = Blueprint("layout", __name__)


def locale_name() -> str:
    """The current language as api.i18n names it, "zh_CN" or "en" (Babel itself says zh_Hans_CN)."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def html_lang() -> str:
    """The BCP 47 tag for <html lang>: zh-CN, en."""
    return locale_name().replace("_", "-")


def lang_url(locale: str) -> str:
    """This page again (same path and query) in another language."""
    pairs = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return _reloadable_path() + "?" + urlencode([*pairs, ("lang", locale)])


def _reloadable_path() -> str:
    """The page's path, unless it answered a POST to a URL that has no GET page (an upload's result):
    then the section's index, or the home page."""
    if request.method == "GET":
        return request.path
    try:
        current_app.url_map.bind_to_environ(request.environ).match(request.path, method="GET")
        return request.path
    except HTTPException:
        index = f"{request.blueprint}.index"
        return url_for(index) if index in current_app.view_functions else url_for("catalogue.home")


def synthetic_demo() -> bool:
    """Whether the catalogue holds the generated demo's products (their descriptions carry its mark). Once
    seen, the answer is kept for the process's life (products are never deleted), sparing every later page a
    scan of the descriptions; until then each page asks, so a demo loaded while the server runs is noted."""
    if current_app.extensions.get("synthetic_demo_seen"):
        return True
    try:
        query = select(LoanProduct.id).where(LoanProduct.description.contains(SYNTHETIC_MARK)).limit(1)
        seen = session().scalar(query) is not None
    except SQLAlchemyError:
        return False
    if seen:
        current_app.extensions["synthetic_demo_seen"] = True
    return seen


def signed_in_account() -> Account | None:
    """The cookie session's account, or None; an error page rendered because the database failed must
    still render, signed out."""
    try:
        return cookie_account()
    except SQLAlchemyError:
        return None


@bp.app_context_processor
def layout_context() -> dict[str, Any]:
    return {
        "current_account": signed_in_account(),
        "html_lang": html_lang(),
        "locale_name": locale_name(),
        "lang_url": lang_url,
        "synthetic_demo": synthetic_demo(),
    }


@bp.app_template_filter("wan")
def wan_filter(yuan: int | None) -> str:
    return formatting.wan(yuan)


@bp.app_template_filter("rate")
def rate_filter(percent: float | None) -> str:
    return formatting.rate(percent)


@bp.app_template_filter("product_type")
def product_type_filter(code: str) -> str:
    return label(PRODUCT_TYPES, code, locale_name())


@bp.app_template_filter("collateral")
def collateral_filter(code: str) -> str:
    return label(COLLATERAL_KINDS, code, locale_name())


@bp.app_template_filter("product_status")
def product_status_filter(code: str) -> str:
    return label(PRODUCT_STATUSES, code, locale_name())


@bp.app_template_filter("industry")
def industry_filter(code: str) -> str:
    """A GB/T 4754 code by its section's name; deeper codes (C39) keep the code beside it."""
    name = label(INDUSTRY_SECTIONS, code[:1], locale_name())
    return name if len(code) == 1 else f"{name} ({code})"


@bp.app_template_filter("size_class")
def size_class_filter(code: str) -> str:
    return label(SIZE_CLASSES, code, locale_name())
