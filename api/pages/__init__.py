"""Server-rendered HTML pages (Jinja2, Chinese first). ``BLUEPRINTS`` lists them."""

from flask import Blueprint

from api.pages import catalogue, portal, session_pages

BLUEPRINTS: list[Blueprint] = [catalogue.bp, session_pages.bp, portal.bp]
