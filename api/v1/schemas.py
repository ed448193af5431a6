"""Request and response envelopes of the REST API: pagination arguments, list pages, and the product
answers. What a product *is* stays in products.schemas.ProductSchema; this module only wraps it."""

from collections.abc import Iterator, Mapping
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser

from products.schemas import MAX_AMOUNT, ProductSchema
from reference.codes import COLLATERAL_KINDS, PRODUCT_STATUSES, PRODUCT_TYPES, codes

NUL_MESSAGE = "must not contain the NUL character"


def _nul_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "_schema"
    elif isinstance(value, Mapping):
        for key, nested in value.items():
            yield from _nul_paths(nested, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for nested in value:
            yield from _nul_paths(nested, path)


class TextSafeParser(FlaskParser):
    """Refuses a JSON body holding a NUL character anywhere with 422 naming the field: PostgreSQL text
    cannot store NUL (it would fail as a 500), and no field has a use for it."""

    def pre_load(self, location_data: Any, *, schema: Schema, req: Any, location: str) -> Any:
        paths = sorted(set(_nul_paths(location_data))) if location == "json" else []
        if paths:
            raise ValidationError({path: [NUL_MESSAGE] for path in paths})
        return location_data


class ApiBlueprint(Blueprint):
    """The blueprint class for /api/v1 modules: flask-smorest's, with the NUL-refusing parser."""

    ARGUMENTS_PARSER = TextSafeParser()


MAX_PAGE = 1_000_000  # far beyond any real catalogue; keeps OFFSET within what every database accepts


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The list envelope ``{"items": [...], "total": N, "page": P, "per_page": K}`` for ``item``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )


# A bank id (at most 9 digits: ids are 32-bit integers and PostgreSQL refuses a larger parameter), or a
# bank code (not all digits).
BANK_REFERENCE = r"^(?:[0-9]{1,9}|[A-Za-z0-9_.\-]*[A-Za-z_.\-][A-Za-z0-9_.\-]*)$"
NO_NUL = r"^[^\x00]*$"  # documented as a pattern, so that generated valid queries respect it


class ProductQueryArgs(PageArgs):
    type = fields.String(validate=validate.OneOf(codes(PRODUCT_TYPES)))
    bank = fields.String(
        validate=[validate.Length(min=1, max=32), validate.Regexp(BANK_REFERENCE, error="not a bank id or code")],
        metadata={"description": "A bank's id or code"},
    )
    amount = fields.Integer(
        validate=validate.Range(min=0, max=MAX_AMOUNT),
        metadata={"description": "A need's amount (yuan): products whose amount range contains it"},
    )
    collateral = fields.String(
        validate=validate.OneOf(codes(COLLATERAL_KINDS)),
        metadata={"description": "Products accepting this kind of collateral"},
    )
    status = fields.String(
        load_default="active",
        validate=validate.OneOf(codes(PRODUCT_STATUSES)),
        metadata={"description": "Drafts are listed only for their own bank"},
    )
    q = fields.String(
        validate=[validate.Length(max=200), validate.Regexp(NO_NUL, error=NUL_MESSAGE)],
        metadata={"description": "Text in the name or description"},
    )


class ProductOut(ProductSchema):
    """A product as the API returns it: every field, plus its bank's name and code."""

    bank_name = fields.String(attribute="bank.name", dump_only=True)
    bank_code = fields.String(attribute="bank.code", dump_only=True)


class ProductChanges(ProductSchema):
    """The body of a PATCH, loaded with ``partial=True``: ProductSchema under its own OpenAPI name, so that
    the document tells the partial body (no field required) from the full one."""


ProductPage = page_of(ProductOut, "ProductPage")


class ImportArgs(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Validate and report what would change, write nothing (item ids are then provisional)"
        },
    )


class ImportResultSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    items = fields.List(fields.Nested(ProductOut), required=True)


class ExportArgs(Schema):
    headers = fields.String(
        load_default="en",
        validate=validate.OneOf(["en", "zh"]),
        metadata={"description": "Header line in English field names (en) or Chinese (zh)"},
    )
    include_withdrawn = fields.Boolean(load_default=False)
