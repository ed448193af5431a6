"""SME registration, the enterprise's own record and its yearly financial profiles."""

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from accounts.tokens import issue_token
from api.auth import protected, require_roles
from api.database import session
from api.v1.links import links, to
from api.v1.schemas import ApiBlueprint, page_of
from api.v1.scores import ScoreSchema, score_payload
from enterprises.errors import EnterpriseError
from enterprises.models import Enterprise, FinancialProfile
from enterprises.schemas import (
    PROFILE_STORED,
    EnterpriseSchema,
    EnterpriseUpdateSchema,
    ProfileSchema,
    RegistrationSchema,
)
from enterprises.service import register, save_profile, update_enterprise
from reference.china_time import china_today
from reference.ratios import derived_ratios

blp = ApiBlueprint("enterprises", __name__, description="SMEs: registration, own record, financial profiles")


class RegisteredSchema(ma.Schema):
    enterprise = ma.fields.Nested(EnterpriseSchema)
    token = ma.fields.String(metadata={"description": "Bearer token for this SME; shown once"})


FIRST_FISCAL_YEAR = 2000
ProfileListSchema = page_of(ProfileSchema, "ProfileList")
# What a saved profile leads to: the score computed from the latest one, and every year's ratios.
PROFILE_LINKS = {
    "ReadScore": to("GET /api/v1/enterprises/me/score", "The score, computed from the latest profile"),
    "ReadProfiles": to("GET /api/v1/enterprises/me/profiles", "Every fiscal year's profile with its ratios"),
}


def fail(error: EnterpriseError) -> None:
    abort(error.status, message=error.message, errors={"json": error.errors})


def own_enterprise() -> Enterprise:
    account = require_roles("sme")
    enterprise = session().get(Enterprise, account.enterprise_id)
    assert enterprise is not None  # the accounts CHECK constraint ties every SME account to an enterprise
    return enterprise


def profile_out(profile: FinancialProfile) -> dict[str, Any]:
    figures = {name: getattr(profile, name) for name in PROFILE_STORED} | {"updated_at": profile.updated_at}
    return figures | derived_ratios(figures)


@blp.route("")
class Registration(MethodView):
    @blp.arguments(RegistrationSchema)
    @blp.response(201, RegisteredSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="Credit code already registered")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register an enterprise; the answer carries its bearer token (shown once)."""
        db = session()
        try:
            enterprise, account = register(db, data)
        except EnterpriseError as error:
            db.rollback()
            fail(error)
        token = issue_token(db, account)
        db.commit()
        return {"enterprise": enterprise, "token": token}


@blp.route("/me")
class Me(MethodView):
    @protected(blp, "sme")
    @blp.response(200, EnterpriseSchema)
    def get(self) -> Enterprise:
        """The caller's enterprise, with its size class."""
        return own_enterprise()

    @protected(blp, "sme")
    @blp.arguments(EnterpriseUpdateSchema(partial=True))
    @blp.response(200, EnterpriseSchema)
    def patch(self, changes: dict[str, Any]) -> Enterprise:
        """Change the enterprise's details (not its credit code)."""
        enterprise = update_enterprise(session(), own_enterprise(), changes)
        session().commit()
        return enterprise


@blp.route("/me/profiles")
class Profiles(MethodView):
    @protected(blp, "sme")
    @blp.response(200, ProfileListSchema)
    @links(
        blp,
        200,
        ReviseOldestProfile=to(
            "PUT /api/v1/enterprises/me/profiles/{fiscal_year}",
            "Replace the oldest year's figures",
            fiscal_year="$response.body#/items/0/fiscal_year",
        ),
    )
    def get(self) -> dict[str, Any]:
        """Every fiscal year's profile, oldest first, with the derived ratios."""
        profiles = [profile_out(profile) for profile in own_enterprise().profiles]
        return {"items": profiles, "total": len(profiles), "page": 1, "per_page": max(len(profiles), 1)}


# The route's minimum documents the first year (OpenAPI "minimum"); the last one is this year, checked in the view.
@blp.route(f"/me/profiles/<int(min={FIRST_FISCAL_YEAR}):fiscal_year>")
class Profile(MethodView):
    @protected(blp, "sme")
    @blp.arguments(ProfileSchema)
    @blp.response(200, ProfileSchema)
    @blp.alt_response(201, schema=ProfileSchema, description="Created", success=True)
    @blp.alt_response(404, response="DEFAULT_ERROR", description="Fiscal year out of range")
    @links(blp, 200, **PROFILE_LINKS)
    @links(blp, 201, **PROFILE_LINKS)
    def put(self, data: dict[str, Any], fiscal_year: int) -> tuple[dict[str, Any], int]:
        """Create or replace one fiscal year's profile; the other years are kept."""
        this_year = china_today().year
        if fiscal_year > this_year:
            abort(404, message=f"fiscal year must be between {FIRST_FISCAL_YEAR} and {this_year}")
        profile, created = save_profile(session(), own_enterprise(), fiscal_year, data)
        session().commit()
        return profile_out(profile), 201 if created else 200


@blp.route("/me/score")
class Score(MethodView):
    @protected(blp, "sme")
    @blp.response(200, ScoreSchema)
    @blp.alt_response(409, response="DEFAULT_ERROR", description="No financial profile yet")
    @blp.alt_response(503, response="DEFAULT_ERROR", description="No active scoring model")
    def get(self) -> dict[str, Any]:
        """Own PD, PD band, score (300–900), grade (A–E), the reasons behind it and what would improve it."""
        return score_payload(own_enterprise())
