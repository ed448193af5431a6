"""The application factory."""

from typing import Any

from flask import Flask, send_from_directory
from flask_smorest import Api
from flask_wtf import CSRFProtect

from api import config as settings
from api.auth import BEARER_SCHEME
from api.catalogue_cache import init_catalogue_cache
from api.database import init_database
from api.errors import register_error_handlers
from api.health import bp as health_bp
from api.i18n import init_i18n
from api.rate_limits import init_rate_limits
from api.security_headers import init_security_headers


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment; ``overrides`` (tests) win over it."""
    app = Flask(__name__)
    app.config.update(settings.static_config())
    app.config.update(settings.from_environment())
    app.config.update(overrides or {})
    settings.configure_logging(app.config["LOG_LEVEL"])

    init_database(app)
    init_catalogue_cache(app)  # first before_request hook: a cached catalogue answer skips the others
    init_i18n(app)
    csrf = CSRFProtect(app)

    api = Api(app, spec_kwargs={"info": {"description": _API_DESCRIPTION}})
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    from api.v1 import BLUEPRINTS as API_BLUEPRINTS

    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=f"/api/v1/{blueprint.name}")
        csrf.exempt(blueprint)  # bearer tokens, not cookies: nothing for a forged form to ride on

    from api.pages import BLUEPRINTS as PAGE_BLUEPRINTS

    for blueprint in PAGE_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(health_bp)

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_assets(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(app.config["SWAGGER_UI_ASSETS"], filename)

    register_error_handlers(app)
    init_security_headers(app)
    init_rate_limits(app)
    from api.cli import register_commands

    register_commands(app)
    return app


_API_DESCRIPTION = (
    "Banks publish loan products; SMEs register and submit financing needs; the platform matches them. "
    "Amounts are integer yuan, rates annual percent, terms months. Authenticate with "
    "`Authorization: Bearer <token>` (tokens are created with the `matchmaker accounts` CLI)."
)
