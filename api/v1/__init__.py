"""REST API v1 (flask-smorest). Each module defines one Blueprint; ``BLUEPRINTS`` lists them in the order
they appear in the OpenAPI document."""

from flask_smorest import Blueprint

from api.v1 import audit, enterprises, loans, matching, needs, products, proposals, scoring, stats

BLUEPRINTS: list[Blueprint] = [
    products.blp,
    enterprises.blp,
    needs.blp,
    scoring.blp,
    matching.blp,
    proposals.blp,
    loans.blp,
    audit.blp,
    stats.blp,
]
