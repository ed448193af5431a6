"""Loan products API: the public catalogue, and a bank's own products (create, change, withdraw, import,
export).

Ownership rule: a product another bank cannot see (a draft) answers 404 as if it did not exist; a product
it can see but does not own answers 403. Nothing about either is changed."""

from typing import Any, NoReturn

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import abort

from accounts.models import Account
from api.auth import current_account, protected, require_roles
from api.database import session
from api.v1.links import links, to
from api.v1.schemas import (
    ApiBlueprint,
    ExportArgs,
    ImportArgs,
    ImportResultSchema,
    ProductChanges,
    ProductOut,
    ProductPage,
    ProductQueryArgs,
)
from products.catalogue import ProductFilter, bank_products, get_product, list_products
from products.errors import ProductError
from products.exporting import export_csv
from products.importing import ImportRejected, RowError, import_products, parse_csv, parse_json
from products.models import LoanProduct
from products.schemas import ProductSchema
from products.service import create_product, update_product, withdraw_product

blp = ApiBlueprint("products", __name__, description="Loan products published by banks")

OPTIONAL_AUTH = [{}, {"bearerAuth": []}]  # anonymous, or a bank's token to include its own drafts
PRODUCT_ID = "<int(min=1, max=2147483647):product_id>"
PRODUCT = "/api/v1/products/{product_id}"


def product_links(product_id: str) -> dict[str, dict[str, Any]]:
    """Links to the product whose id is at ``product_id`` (an expression): read, change or withdraw it, read
    its audit trail."""
    return {
        "ReadProduct": to(f"GET {PRODUCT}", "The product", product_id=product_id),
        "ChangeProduct": to(f"PATCH {PRODUCT}", "Change some of its fields", product_id=product_id),
        "WithdrawProduct": to(f"DELETE {PRODUCT}", "Withdraw it (下架)", product_id=product_id),
        "ReadAuditTrail": to(
            "GET /api/v1/audit", "Its changes (operators, regulators)", entity_kind="product", entity_id=product_id
        ),
    }


IMPORT_BODY = {
    "required": True,
    "description": (
        "A CSV file (UTF-8, with or without BOM; English or Chinese headers as written by export.csv; list cells "
        "separated by ';') or a JSON array of products, as the multipart field `file` or as the raw body. "
        "Rows are matched to your products by `code`: new codes are created, known codes updated."
    ),
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Product"}}},
    },
}


def _viewer_bank_id() -> int | None:
    account = current_account()
    return account.bank_id if account is not None else None


def _refuse(error: ProductError) -> NoReturn:
    session().rollback()
    abort(error.status, message=error.message, errors={"json": error.errors})


def _owned_product(product_id: int, account: Account) -> LoanProduct:
    product = get_product(session(), product_id, account.bank_id)
    if product is None:
        abort(404, message="No such product.")
    if product.bank_id != account.bank_id:
        abort(403, message="This product belongs to another bank.")
    return product


@blp.route("")
class Products(MethodView):
    @blp.doc(security=OPTIONAL_AUTH)
    @blp.arguments(ProductQueryArgs, location="query")
    @blp.response(200, ProductPage)
    @links(blp, 200, **product_links("$response.body#/items/0/id"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The catalogue, filtered and paginated (a bank also sees its own drafts with status=draft)"""
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total = list_products(session(), ProductFilter(**args), page, per_page, _viewer_bank_id())
        return {"items": items, "total": total, "page": page, "per_page": per_page}

    @protected(blp, "bank")
    @blp.arguments(ProductSchema)
    @blp.response(201, ProductOut)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Your bank already has a product with this code")
    @links(blp, 201, **product_links("$response.body#/id"))
    def post(self, data: dict[str, Any]) -> LoanProduct:
        """Publish a product for the caller's bank"""
        account = require_roles("bank")
        try:
            product = create_product(session(), account.bank_id, data, actor=account)
        except ProductError as error:
            _refuse(error)
        session().commit()
        return product


@blp.route(f"/{PRODUCT_ID}")
class ProductById(MethodView):
    @blp.doc(security=OPTIONAL_AUTH)
    @blp.response(200, ProductOut)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="No such product, or a draft of another bank")
    def get(self, product_id: int) -> LoanProduct:
        """One product"""
        product = get_product(session(), product_id, _viewer_bank_id())
        if product is None:
            abort(404, message="No such product.")
        return product

    @protected(blp, "bank")
    @blp.arguments(ProductChanges(partial=True))
    @blp.response(200, ProductOut)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="No such product, or a draft of another bank")
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Code already used, or product withdrawn")
    @links(blp, 200, **product_links("$response.body#/id"))
    def patch(self, changes: dict[str, Any], product_id: int) -> LoanProduct:
        """Change some fields of one of your products (403 for another bank's product)"""
        account = require_roles("bank")
        product = _owned_product(product_id, account)
        try:
            update_product(session(), product, changes, actor=account)
        except ProductError as error:
            _refuse(error)
        session().commit()
        return product

    @protected(blp, "bank")
    @blp.response(200, ProductOut)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="No such product, or a draft of another bank")
    @links(blp, 200, ReadAuditTrail=product_links("$response.body#/id")["ReadAuditTrail"])
    def delete(self, product_id: int) -> LoanProduct:
        """Withdraw (下架) one of your products: its status becomes withdrawn, the row and its history stay;
        answers the withdrawn product"""
        account = require_roles("bank")
        product = _owned_product(product_id, account)
        withdraw_product(session(), product, actor=account)
        session().commit()
        return product


@blp.route("/import", methods=["POST"])
@protected(blp, "bank")
@blp.doc(requestBody=IMPORT_BODY)
@blp.arguments(ImportArgs, location="query")
@blp.response(200, ImportResultSchema)
@blp.alt_response(413, response="DEFAULT_ERROR", description="The file is larger than the upload limit")
@blp.alt_response(415, response="DEFAULT_ERROR", description="Neither multipart/form-data, text/csv nor JSON")
@blp.alt_response(
    422,
    response="DEFAULT_ERROR",
    description='The file was refused, nothing was written; `errors.rows` lists `{"line", "field", "message"}`',
)
@links(blp, 200, **product_links("$response.body#/items/0/id"))
def import_file(args: dict[str, Any]) -> Response:
    """Create or update many of your products from a CSV or JSON file (all or nothing)"""
    account = require_roles("bank")
    data, kind = _upload()
    try:
        rows = parse_json(data) if kind == "json" else parse_csv(data)
        result = import_products(session(), account.bank_id, rows, actor=account)
    except ImportRejected as error:
        session().rollback()
        abort(422, message=error.message, errors={"rows": [row.as_dict() for row in error.errors]})
    # Dumped before the dry run's rollback, which would take the would-be values away from the objects.
    answer = ImportResultSchema().dump(
        {
            "created": result.count("created"),
            "updated": result.count("updated"),
            "unchanged": result.count("unchanged"),
            "dry_run": args["dry_run"],
            "items": result.products,
        }
    )
    if args["dry_run"]:
        session().rollback()
    else:
        session().commit()
    return jsonify(answer)


def _upload() -> tuple[bytes, str]:
    """The uploaded bytes and their format, "csv" or "json"."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            message = "send the file in the multipart field 'file'"
            abort(422, message=message, errors={"rows": [RowError(None, "file", message).as_dict()]})
        is_json = (upload.filename or "").lower().endswith(".json") or upload.mimetype == "application/json"
        return upload.read(), "json" if is_json else "csv"
    if request.mimetype in ("text/csv", "application/json"):
        return request.get_data(), "json" if request.mimetype == "application/json" else "csv"
    abort(415, message="Send multipart/form-data with a field 'file', or a text/csv or application/json body.")


@blp.route("/export.csv")
@protected(blp, "bank")
@blp.arguments(ExportArgs, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv", description="UTF-8 CSV with BOM")
def export_file(args: dict[str, Any]) -> Response:
    """Your products as CSV, in the format the import reads"""
    account = require_roles("bank")
    products = bank_products(session(), account.bank_id, include_withdrawn=args["include_withdrawn"])
    return Response(
        export_csv(products, headers=args["headers"]),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=products.csv"},
    )
