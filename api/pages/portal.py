"""(being written)"""

from flask import Blueprint

bp = Blueprint("portal", __name__)
