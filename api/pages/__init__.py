"""Server-rendered HTML pages (Jinja2, Chinese first). ``BLUEPRINTS`` lists them."""

from flask import Blueprint

from api.pages import catalogue, layout, portal, session_pages, sme

BLUEPRINTS: list[Blueprint] = [layout.bp, catalogue.bp, session_pages.bp, portal.bp, sme.bp]
