"""Scores in the service: which model is active, and each enterprise's current score.

The model store is a directory on the operator's machine (``MATCHMAKER_MODEL_DIR``); models get there only
through the CLI, never from a request. A score is stored with the model version and the profile it was
computed from, and computed again when either changes (or the enterprise's own facts do)."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.base import utcnow
from enterprises.models import Enterprise, FinancialProfile, FinancingNeed
from matchmaker.models import EnterpriseScore, ScoringModel
from reference.china_time import china_today
from scoring import artefacts
from scoring.features import PROFILE_FIELDS
from scoring.model import TrainedModel
from scoring.platform import is_platform_model
from scoring.scorecard import GRADE_BANDS, Change, assess, what_would_change


class ScoringUnavailable(RuntimeError):
    """No active model, or the active model cannot be loaded; the message says which."""


class ModelRegistryError(ValueError):
    """A registration or activation that cannot be done; the message says why."""


def register_model(session: Session, directory: Path) -> ScoringModel:
    """Record a saved artefact directory (its sidecar is read, the model is loaded to prove it works)."""
    directory = Path(directory).resolve()
    _model, meta = artefacts.load(directory)
    if session.scalar(select(ScoringModel).where(ScoringModel.version == meta["version"])) is not None:
        raise ModelRegistryError(f"model {meta['version']} is already registered")
    row = ScoringModel(
        version=meta["version"], directory=str(directory), meta=meta, platform=is_platform_model(meta["features"])
    )
    session.add(row)
    session.flush()
    return row


def activate(session: Session, version: str) -> ScoringModel:
    """Make ``version`` the model the service scores with. Only platform models (trained on scoring.features
    features) can score enterprises; a model trained on a bank's own columns is for evaluation only."""
    row = session.scalar(select(ScoringModel).where(ScoringModel.version == version))
    if row is None:
        raise ModelRegistryError(f"no registered model {version}")
    if not row.platform:
        raise ModelRegistryError(f"model {version} was not trained on platform features; it cannot score enterprises")
    _load(row)  # refuse a model whose artefact no longer loads (scikit-learn version, changed file)
    session.execute(update(ScoringModel).where(ScoringModel.active).values(active=False))
    session.flush()
    row.active = True
    row.activated_at = utcnow()
    session.flush()
    return row


_loaded: dict[tuple[str, str], TrainedModel] = {}


def _load(row: ScoringModel) -> TrainedModel:
    """Load once per process; the artefact's hash and scikit-learn version are checked on that first load."""
    key = (row.version, row.directory)
    if key not in _loaded:
        try:
            _loaded[key] = artefacts.load(Path(row.directory))[0]
        except artefacts.ArtefactError as error:
            raise ScoringUnavailable(str(error)) from error
    return _loaded[key]


def active_model(session: Session) -> tuple[ScoringModel, TrainedModel]:
    row = session.scalar(select(ScoringModel).where(ScoringModel.active))
    if row is None:
        raise ScoringUnavailable("no scoring model is active; run `matchmaker scoring activate VERSION`")
    return row, _load(row)


def applicant_record(
    enterprise: Enterprise, need: FinancingNeed | None = None, today: date | None = None
) -> dict[str, Any] | None:
    """The scoring input for an enterprise (and optionally one need): its latest profile with the enterprise's
    facts, or None when it has no profile yet."""
    if not enterprise.profiles:
        return None
    return profile_record(enterprise, enterprise.profiles[-1], need, today or china_today())


def profile_record(
    enterprise: Enterprise, profile: FinancialProfile, need: FinancingNeed | None, today: date
) -> dict[str, Any]:
    """The scoring input from one of the enterprise's profiles (the year before it gives the growth), as of
    ``today``: the latest profile for a current score, the profile a bank saw at grant time for training."""
    previous = next((p for p in enterprise.profiles if p.fiscal_year == profile.fiscal_year - 1), None)
    return {
        **{name: getattr(profile, name) for name in PROFILE_FIELDS},
        "years_in_business": (today - enterprise.founded_on).days / 365.25,
        "employees": enterprise.employees,
        "first_time_borrower": enterprise.first_time_borrower,
        "previous_annual_revenue": previous.annual_revenue if previous else None,
        "industry": enterprise.industry,
        "guarantee_available": need.guarantee_available if need is not None else None,
    }


def current_score(session: Session, enterprise: Enterprise) -> EnterpriseScore | None:
    """The enterprise's score under the active model, computed now if the stored one is stale; None when the
    enterprise has no profile yet. Raises ScoringUnavailable when no model is active."""
    record = applicant_record(enterprise)
    if record is None:
        return None
    model_row, model = active_model(session)
    profile: FinancialProfile = enterprise.profiles[-1]
    stored = session.scalar(
        select(EnterpriseScore)
        .where(
            EnterpriseScore.enterprise_id == enterprise.id,
            EnterpriseScore.model_version == model_row.version,
            EnterpriseScore.profile_id == profile.id,
        )
        .order_by(EnterpriseScore.computed_at.desc(), EnterpriseScore.id.desc())
        .limit(1)
    )
    changed_at = max(profile.updated_at, enterprise.updated_at)
    if stored is not None and stored.computed_at >= changed_at:
        return stored
    result = assess(model, record)
    score = EnterpriseScore(
        enterprise_id=enterprise.id,
        profile_id=profile.id,
        model_version=model_row.version,
        pd=result.pd,
        score=result.score,
        grade=result.grade,
        reasons=[
            {"feature": r.feature, "value": _plain(r.value), "points": r.points, "zh": r.zh, "en": r.en}
            for r in result.reasons
        ],
    )
    session.add(score)
    session.flush()
    return score


def _plain(value: Any) -> Any:
    """A JSON-safe reason value (numpy floats, NaN for missing)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    number = float(value)
    return None if number != number else number


@dataclass(frozen=True)
class PdBand:
    grade: str
    low: float
    high: float | None  # None: no upper bound (grade E)


def pd_band(grade: str) -> PdBand:
    """The PD range of a grade, e.g. C: 3%–7%."""
    low = 0.0
    for letter, high in GRADE_BANDS:
        if letter == grade:
            return PdBand(grade, low, None if high == float("inf") else high)
        low = high
    raise ValueError(f"unknown grade {grade}")


def improvement(session: Session, enterprise: Enterprise, score: EnterpriseScore) -> tuple[float, Change | None] | None:
    """What the SME could change to reach the next better grade: (target PD, change or None when nothing it
    controls gets there). None when it already has the best grade."""
    letters = [letter for letter, _ in GRADE_BANDS]
    position = letters.index(score.grade)
    if position == 0:
        return None
    target = GRADE_BANDS[position - 1][1]
    _row, model = active_model(session)
    record = applicant_record(enterprise)
    assert record is not None  # a score exists, so a profile does
    return target, what_would_change(model, record, target)
