"""The Flask application: REST API, HTML pages, CLI. The only package that imports Flask."""

from api.app import create_app

__all__ = ["create_app"]
