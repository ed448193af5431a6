"""The public pages: the home page, the product catalogue with its filters, and a product's details."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import ceil

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from api.auth import cookie_account
from api.database import session
from api.formatting import parse_wan
from products.catalogue import ProductFilter, get_product, list_products
from products.models import Bank, LoanProduct
from reference.codes import COLLATERAL_KINDS, PRODUCT_TYPES, codes

bp = Blueprint("catalogue", __name__)

PER_PAGE = 12
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 100
FILTER_NAMES = ("q", "type", "bank", "amount", "collateral")


@dataclass
class CatalogueForm:
    """The filter form as typed (``values``, shown back in the inputs), what it means (``filters``) and a
    message for each field that could not be understood; such a field is left out of the query."""

    values: dict[str, str]
    banks: Sequence[Bank]
    filters: ProductFilter = field(default_factory=ProductFilter)
    errors: dict[str, str] = field(default_factory=dict)
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict[str, str], banks: Sequence[Bank]) -> "CatalogueForm":
        form = cls(values={name: args.get(name, "").strip() for name in FILTER_NAMES}, banks=banks)
        form.filters = ProductFilter(
            q=form._text(),
            type=form._code("type", codes(PRODUCT_TYPES), _("Choose a product type from the list.")),
            bank=form._code("bank", [str(bank.id) for bank in banks], _("Choose a bank from the list.")),
            amount=form._amount(),
            collateral=form._code(
                "collateral", codes(COLLATERAL_KINDS), _("Choose a kind of collateral from the list.")
            ),
        )
        page = args.get("page", "1")
        form.page = int(page) if page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE else 1
        return form

    def _text(self) -> str | None:
        text = self.values["q"]
        if len(text) > MAX_QUERY_LENGTH:
            self.errors["q"] = _("Use at most %(count)d characters.", count=MAX_QUERY_LENGTH)
            return None
        return text or None

    def _code(self, name: str, allowed: list[str], message: str) -> str | None:
        value = self.values[name]
        if value and value not in allowed:
            self.errors[name] = message
            return None
        return value or None

    def _amount(self) -> int | None:
        if not self.values["amount"]:
            return None
        try:
            return parse_wan(self.values["amount"])
        except ValueError:
            self.errors["amount"] = _("Enter a positive amount in units of 10,000 yuan, for example 50 or 120.5.")
            return None

    def page_url(self, page: int) -> str:
        kept = {name: value for name, value in self.values.items() if value and name not in self.errors}
        return url_for("catalogue.products", **kept, page=page)


def _viewer_bank_id() -> int | None:
    account = cookie_account()
    return account.bank_id if account is not None else None


@bp.get("/")
def home() -> str:
    product_count, bank_count = (
        session()
        .execute(
            select(func.count(LoanProduct.id), func.count(func.distinct(LoanProduct.bank_id))).where(
                LoanProduct.status == "active"
            )
        )
        .one()
    )
    return render_template("catalogue/home.html", product_count=product_count, bank_count=bank_count)


@bp.get("/products")
def products() -> tuple[str, int]:
    banks = session().scalars(select(Bank).order_by(Bank.name, Bank.id)).all()
    form = CatalogueForm.from_args(request.args, banks)
    items, total = list_products(session(), form.filters, form.page, PER_PAGE)
    html = render_template(
        "catalogue/products.html",
        form=form,
        items=items,
        total=total,
        page=form.page,
        pages=max(1, ceil(total / PER_PAGE)),
        product_types=PRODUCT_TYPES,
        collateral_kinds=COLLATERAL_KINDS,
    )
    return html, 422 if form.errors else 200


@bp.get("/products/<int(max=2147483647):product_id>")
def product(product_id: int) -> str:
    item = get_product(session(), product_id, viewer_bank_id=_viewer_bank_id())
    if item is None:
        abort(404, _("There is no such product in the catalogue."))
    return render_template("catalogue/product.html", product=item)
