"""Scoring models the service knows, with their metrics (for operators and regulators)."""

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from api.auth import protected
from api.database import session
from api.v1.schemas import ApiBlueprint, page_of
from matchmaker.models import ScoringModel

blp = ApiBlueprint("scoring", __name__, description="Credit-scoring models and scores")


class ModelSchema(ma.Schema):
    version = ma.fields.String()
    active = ma.fields.Boolean()
    platform = ma.fields.Boolean(metadata={"description": "Trained on platform features: can score enterprises"})
    created_at = ma.fields.DateTime()
    activated_at = ma.fields.DateTime(allow_none=True)
    metrics = ma.fields.Dict(metadata={"description": "Cross-validated AUC, KS, Brier, calibration slope"})
    features = ma.fields.List(ma.fields.String())
    sklearn_version = ma.fields.String()
    training_data_sha256 = ma.fields.String(allow_none=True)


ModelListSchema = page_of(ModelSchema, "ScoringModelList")


@blp.route("/models")
class Models(MethodView):
    @protected(blp, "admin", "regulator")
    @blp.response(200, ModelListSchema)
    def get(self) -> dict[str, Any]:
        """Registered models, newest first, with their cross-validated metrics."""
        rows = session().scalars(select(ScoringModel).order_by(ScoringModel.created_at.desc())).all()
        items = [
            {
                "version": row.version,
                "active": row.active,
                "platform": row.platform,
                "created_at": row.created_at,
                "activated_at": row.activated_at,
                "metrics": row.meta.get("metrics", {}),
                "features": row.meta.get("features", []),
                "sklearn_version": row.meta.get("sklearn_version"),
                "training_data_sha256": row.meta.get("training_data_sha256"),
            }
            for row in rows
        ]
        return {"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)}
