"""Loan products API (being written)."""

from flask_smorest import Blueprint

blp = Blueprint("products", __name__, description="Loan products published by banks")
