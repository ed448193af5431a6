"""Language: Chinese (zh_CN) first, English second. ``?lang=en`` switches and is remembered in the session.

The browser's Accept-Language is deliberately not consulted: the users are Chinese SMEs and banks, often on
office machines set up in English, and the service is Chinese first."""

from flask import Flask, request, session
from flask_babel import Babel

LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LOCALES:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in LOCALES:
        return session["lang"]
    return "zh_CN"


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
