"""(being written)"""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)
