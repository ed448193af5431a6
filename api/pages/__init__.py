"""Server-rendered HTML pages (Jinja2, Chinese first). ``BLUEPRINTS`` lists them."""

from flask import Blueprint

from api.pages import account, audit, catalogue, layout, portal, portal_loans, regulator, session_pages, sme

BLUEPRINTS: list[Blueprint] = [
    layout.bp,
    catalogue.bp,
    session_pages.bp,
    portal.bp,
    portal_loans.bp,
    sme.bp,
    account.bp,
    regulator.bp,
    audit.bp,
]
