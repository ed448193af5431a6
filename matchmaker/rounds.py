"""A matching round, from the database to stored proposals.

open needs + active products ─▶ eligibility (candidate_edges) ─▶ weights ─▶ solver ─▶ proposals

Only needs that are ``open`` take part: a need with pending proposals is ``matched`` and waits for the banks,
so running a round again never duplicates a pending proposal (a unique index guards it too). Each product
receives at most its review capacity per round, and the amounts proposed to it stay within its remaining
quota times the overbooking factor. The round's candidate graph is written to a CSV file
(``matchmaker.edges_csv``) so that anyone can re-solve it independently."""

import contextlib
import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import JSON, Dialect, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.types import TypeDecorator

from db.base import utcnow
from db.tallies import compact_tallies
from enterprises.models import Enterprise, FinancingNeed
from matchmaker.candidates import candidate_edges
from matchmaker.classification_copies import classification_of
from matchmaker.credit_scores import active_model, applicant_record
from matchmaker.edges_csv import export_edges_csv
from matchmaker.eligibility import Applicant, ProductTerms, RuleMemo, RuleResult
from matchmaker.instance import MatchingInstance
from matchmaker.models import MatchingRound, Proposal, ScoringModel
from matchmaker.previous_proposals import hold_enterprises, link_proposals
from matchmaker.round_audit import audit_round_proposals
from matchmaker.solver import solve
from matchmaker.weights import WeightPolicy, applicant_columns, edge_top_factors, edge_weights, product_columns
from products.models import LoanProduct
from reference.china_time import china_today
from scoring.features import columns_from_records, feature_columns
from scoring.model import TrainedModel
from scoring.scorecard import assess_many

Progress = Callable[[str], None]


class RoundInProgress(RuntimeError):
    """Another round is running; only one runs at a time."""


@dataclass(frozen=True)
class RoundParams:
    k: int = 3
    overbooking: float = 1.0
    policy: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False
    on: date | None = None  # the round's date (products valid on it); today when None

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 10:
            raise ValueError("k must be between 1 and 10")
        if not 1.0 <= self.overbooking <= 5.0:
            raise ValueError("overbooking must be between 1.0 and 5.0")
        WeightPolicy.from_dict(self.policy)  # raises PolicyError naming the bad field


def start_round(session_factory: sessionmaker[Session], params: RoundParams, account_id: int | None) -> int:
    """Record the round as running in its own committed transaction; RoundInProgress if one already runs."""
    with session_factory() as session:
        row = MatchingRound(
            status="running",
            params={**asdict(params), "on": (params.on or china_today()).isoformat()},
            stats={},
            started_by=account_id,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError as error:
            raise RoundInProgress("a matching round is already running") from error
        return row.id


def run_round(
    session_factory: sessionmaker[Session],
    params: RoundParams,
    graph_dir: Path,
    account_id: int | None = None,
    progress: Progress | None = None,
) -> MatchingRound:
    """Run a whole round and return it (completed, dry_run or, after an error, failed)."""
    round_id = start_round(session_factory, params, account_id)
    try:
        with session_factory() as session:
            with _collector_paused():
                stats = _match(session, round_id, params, graph_dir, progress or (lambda stage: None))
            audit_round_proposals(session, round_id, account_id)
            row = session.get(MatchingRound, round_id)
            assert row is not None
            row.stats = stats
            row.status = "dry_run" if params.dry_run else "completed"
            row.finished_at = utcnow()
            session.commit()
        compact_tallies(session_factory)  # the round appended a tally row per proposal written
        return row
    except BaseException:
        with session_factory() as session:
            row = session.get(MatchingRound, round_id)
            if row is not None:
                row.status, row.finished_at = "failed", utcnow()
                session.commit()
        raise


def _open_needs(session: Session) -> list[FinancingNeed]:
    return list(
        session.scalars(
            select(FinancingNeed)
            .where(FinancingNeed.status == "open")
            .options(selectinload(FinancingNeed.enterprise).selectinload(Enterprise.profiles))
            .order_by(FinancingNeed.id)
        )
    )


def _active_products(session: Session, on: date) -> list[LoanProduct]:
    products = session.scalars(
        select(LoanProduct)
        .where(LoanProduct.status == "active", LoanProduct.granted_total < LoanProduct.quota)
        .options(selectinload(LoanProduct.bank))
        .order_by(LoanProduct.id)
    )
    return [
        p for p in products if (p.valid_from is None or p.valid_from <= on) and (p.valid_to is None or on <= p.valid_to)
    ]


def _match(session: Session, round_id: int, params: RoundParams, graph_dir: Path, progress: Progress) -> dict[str, Any]:
    started = time.perf_counter()
    on = params.on or china_today()
    policy = WeightPolicy.from_dict(params.policy)
    model_row, model = active_model(session)

    progress("loading needs and products")
    needs = _open_needs(session)
    products = _active_products(session, on)

    progress("scoring enterprises")
    records = [applicant_record(need.enterprise, need, on) for need in needs]
    scored = [i for i, record in enumerate(records) if record is not None]
    pd = np.full(len(needs), np.nan)
    if scored:
        pd[scored] = model.predict_pd(feature_columns(columns_from_records([records[i] for i in scored])))
    applicants = [
        Applicant.from_rows(
            need.enterprise,
            need.enterprise.profiles[-1] if need.enterprise.profiles else None,
            need,
            None if np.isnan(pd[i]) else float(pd[i]),
        )
        for i, need in enumerate(needs)
    ]
    terms = [ProductTerms.from_product(product) for product in products]

    progress("finding eligible pairs")
    edge_need, edge_product = candidate_edges(terms, applicants, on)
    weights = edge_weights(product_columns(terms), applicant_columns(applicants), edge_need, edge_product, policy)

    progress("solving")
    instance = MatchingInstance(
        need_amount=np.array([need.amount for need in needs], dtype=np.int64),
        product_bank=np.array([product.bank_id for product in products], dtype=np.int32),
        product_capacity=np.array([product.review_capacity for product in products], dtype=np.int32),
        product_quota=np.array([product.quota - product.granted_total for product in products], dtype=np.int64),
        edge_need=edge_need,
        edge_product=edge_product,
        edge_weight=weights,
        k=params.k,
        overbooking=params.overbooking,
    )
    result = solve(instance)
    graph_dir.mkdir(parents=True, exist_ok=True)
    export_edges_csv(
        instance,
        graph_dir / f"round-{round_id}.csv",
        np.array([need.id for need in needs], dtype=np.int64),
        np.array([product.id for product in products], dtype=np.int64),
    )

    chosen = result.chosen
    if not params.dry_run:
        progress("writing proposals")
        _write_proposals(
            session,
            round_id,
            needs,
            products,
            terms,
            applicants,
            records,
            instance,
            chosen,
            policy,
            model_row,
            model,
            on,
        )
    has_edge = np.zeros(len(needs), dtype=bool)
    has_edge[edge_need] = True
    return component_stats(edge_need, edge_product, len(needs), len(products)) | {
        "needs": len(needs),
        "products": len(products),
        "edges": len(edge_need),
        "proposals": len(chosen),
        "needs_matched": len(np.unique(edge_need[chosen])),
        "needs_without_eligible_product": int((~has_edge).sum()),
        "needs_unscored": int(len(needs) - len(scored)),
        "objective": result.objective,
        "upper_bound": result.upper_bound,
        "gap": result.gap,
        "solver": result.solver,
        "solver_iterations": result.iterations,
        "solver_seconds": result.seconds,
        "model_version": model_row.version,
        "seconds": time.perf_counter() - started,
    }


def component_stats(edge_need: np.ndarray, edge_product: np.ndarray, needs: int, products: int) -> dict[str, int]:
    """How the candidate graph splits: products' quotas interact only through needs they share, so each
    connected component is an independent market. Needs and products without edges are left out."""
    if len(edge_need) == 0:
        return {"components": 0, "largest_component_needs": 0, "largest_component_products": 0}
    adjacency = coo_matrix(
        (np.ones(len(edge_need), dtype=np.int8), (edge_need, needs + edge_product)), shape=(needs + products,) * 2
    )
    _count, label = connected_components(adjacency, directed=False)
    used_need = np.unique(edge_need)
    used_product = np.unique(edge_product)
    need_labels, product_labels = label[used_need], label[needs + used_product]
    components, sizes = np.unique(np.concatenate([need_labels, product_labels]), return_counts=True)
    largest = components[np.argmax(sizes)]
    return {
        "components": len(components),
        "largest_component_needs": int((need_labels == largest).sum()),
        "largest_component_products": int((product_labels == largest).sum()),
    }


# Where in the product's rate range an applicant of each grade can expect to land (share of the range from
# rate_min): safer applicants get the lower part. A guide for the SME, not an offer.
EXPECTED_RATE_POSITION = {"A": (0.0, 0.4), "B": (0.1, 0.5), "C": (0.3, 0.7), "D": (0.5, 0.9), "E": (0.6, 1.0)}


def expected_rates(product: LoanProduct, grade: str | None) -> tuple[float, float]:
    low, high = EXPECTED_RATE_POSITION.get(grade or "", (0.0, 1.0))
    spread = product.rate_max - product.rate_min
    return round(product.rate_min + low * spread, 2), round(product.rate_min + high * spread, 2)


def _write_proposals(
    session: Session,
    round_id: int,
    needs: list[FinancingNeed],
    products: list[LoanProduct],
    terms: list[ProductTerms],
    applicants: list[Applicant],
    records: list[dict[str, Any] | None],
    instance: MatchingInstance,
    chosen: np.ndarray,
    policy: WeightPolicy,
    model_row: ScoringModel,
    model: TrainedModel,
    on: date,
) -> None:
    """One proposal per chosen edge, ranked per need by weight, each with its explanation and the
    enterprise's score and reasons; the needs that got proposals become ``matched``.

    Written for speed at 10,000s of proposals (bench/round_db.py): a rule's result is computed and serialised
    once for all the pairs that read the same figures (``RuleMemo``), the weight factors are ranked for all
    edges at once and only the ones shown get their texts (``edge_top_factors``), the scores with their reasons
    are computed in batches and serialised once per enterprise, and the rows go in with one Core INSERT.
    """
    # Needs in the round's order, each need's proposals by weight, best first (rank 1).
    chosen_need = instance.edge_need[chosen]
    ordered = chosen[np.lexsort((chosen, -instance.edge_weight[chosen], chosen_need))]
    edge_need, edge_product = instance.edge_need[ordered].tolist(), instance.edge_product[ordered].tolist()
    matched = list(dict.fromkeys(edge_need))
    # The score of an enterprise is taken from the record of its first proposed need (its records differ
    # only in the need's guarantee).
    first_need: dict[int, int] = {}
    for i in matched:
        first_need.setdefault(needs[i].enterprise_id, i)
    snapshots = _score_snapshots([records[i] for i in first_need.values()], model_row, model)
    scores = dict(zip(first_need, snapshots, strict=True))
    scores_json = {enterprise: _json_or_null(score) for enterprise, score in scores.items()}
    factors = edge_top_factors([terms[j] for j in edge_product], [applicants[i] for i in edge_need], policy)
    memo = RuleMemo(on, render=_rule_json)
    created_at = utcnow()
    rows: list[dict[str, Any]] = []
    rank, previous = 0, -1
    for weight, i, j, top in zip(instance.edge_weight[ordered].tolist(), edge_need, edge_product, factors, strict=True):
        rank = rank + 1 if i == previous else 1
        previous = i
        need, product = needs[i], products[j]
        score = scores[need.enterprise_id]
        rate_min, rate_max = expected_rates(product, score["grade"] if score else None)
        rules = ", ".join(memo.results(terms[j], applicants[i]))
        positive = _to_json([_factor(f) for f in top["positive"]])
        negative = _to_json([_factor(f) for f in top["negative"]])
        rows.append(
            {
                "round_id": round_id,
                "need_id": need.id,
                "enterprise_id": need.enterprise_id,
                "need_submitted_at": need.created_at,
                "product_id": product.id,
                "bank_id": product.bank_id,
                "product_type": product.type,
                **classification_of(need.enterprise),
                "rank": rank,
                "weight": weight,
                "rate_min": rate_min,
                "rate_max": rate_max,
                "status": "pending",
                "explanation_json": f'{{"rules_passed": [{rules}], "positive": {positive}, "negative": {negative}}}',
                "score_json": scores_json[need.enterprise_id],
                "created_at": created_at,
            }
        )
    if rows:
        hold_enterprises(session, sorted({row["enterprise_id"] for row in rows}))
        session.execute(_INSERT_PROPOSALS, rows)
        # The needs that got proposals wait for the banks, and count them (the funnel's figure, see
        # matchmaker.need_figures). The loaded needs are not synchronised: the round's session only reads them
        # before this point.
        made = Counter(row["need_id"] for row in rows)
        session.execute(_MARK_PROPOSED, [{"need": need_id, "made": count} for need_id, count in made.items()])
        link_proposals(session, select(Proposal.enterprise_id).where(Proposal.round_id == round_id))
    session.flush()


class _JSONText(TypeDecorator[Any]):
    """A JSON column's parameter that is already serialised: the text goes to the database as it is (cast to
    JSON on PostgreSQL), so that a round serialises each distinct piece once, not once per proposal."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


# RETURNING makes SQLAlchemy send the rows as multi-row INSERTs of up to 1,000 rows ("insertmanyvalues")
# instead of one statement per row, so that the statistics tallies' statement triggers (db.tallies) run once
# per batch on PostgreSQL: one by one they added 4 s to a round of 28,000 proposals.
_INSERT_PROPOSALS = (
    insert(Proposal.__table__)
    .values(
        explanation=bindparam("explanation_json", type_=_JSONText()),
        score=bindparam("score_json", type_=_JSONText()),
    )
    .returning(Proposal.__table__.c.id)
)


_NEEDS = FinancingNeed.__table__
_MARK_PROPOSED = (
    update(_NEEDS)
    .where(_NEEDS.c.id == bindparam("need"))
    .values(status="matched", proposal_count=_NEEDS.c.proposal_count + bindparam("made"))
)


# One encoder for the whole round: json.dumps(..., ensure_ascii=False) would build a new one per call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _rule_json(result: RuleResult) -> str:
    """A passed rule as a proposal's explanation lists it."""
    return _to_json({"rule": result.rule, "zh": result.zh, "en": result.en})


def _json_or_null(value: dict[str, Any] | None) -> str | None:
    """The value's JSON, or None for SQL NULL."""
    return None if value is None else _to_json(value)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a round loads and writes: the tens of thousands of ORM
    objects it loads and the hundreds of thousands of dicts and strings it builds would set off collections
    that walk everything loaded so far again and again (half the loading time and a tenth of the writing time
    at 10,000 needs), while the round makes next to no cyclic garbage. Reference counting frees memory as usual;
    the collector resumes, if it was on, when the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Rows per model call for reason codes: explain() stacks a copy of the rows per reference value of each column.
_SCORE_CHUNK = 2_000


def _factor(factor: dict[str, Any]) -> dict[str, Any]:
    return {
        "factor": factor["factor"],
        "contribution": round(factor["contribution"], 4),
        "zh": factor["zh"],
        "en": factor["en"],
    }


def _score_snapshots(
    records: list[dict[str, Any] | None], model_row: ScoringModel, model: TrainedModel
) -> list[dict[str, Any] | None]:
    """Each enterprise's score at proposal time with its reasons (None without a profile), scored in chunks:
    ``scoring.scorecard.assess_many`` calls the model once per chunk instead of once per enterprise."""
    snapshots: list[dict[str, Any] | None] = [None] * len(records)
    scored = [i for i, record in enumerate(records) if record is not None]
    for start in range(0, len(scored), _SCORE_CHUNK):
        part = scored[start : start + _SCORE_CHUNK]
        for i, result in zip(part, assess_many(model, [records[i] for i in part]), strict=True):
            snapshots[i] = {
                "model_version": model_row.version,
                "pd": result.pd,
                "score": result.score,
                "grade": result.grade,
                "reasons": [{"feature": r.feature, "points": r.points, "zh": r.zh, "en": r.en} for r in result.reasons],
            }
    return snapshots
