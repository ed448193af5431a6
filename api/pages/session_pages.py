"""(being written)"""

from flask import Blueprint

bp = Blueprint("session_pages", __name__)
