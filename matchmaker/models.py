"""Tables of the matchmaker: scoring models and scores, matching rounds and their proposals."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    event,
    false,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from db.base import Base, UTCDateTime, utcnow
from products.models import LoanProduct


class ScoringModel(Base):
    """A trained model registered with the service. ``directory`` is on the operator's model store (a trusted
    path written by the CLI, never by a request); ``meta`` is the artefact's metadata.json sidecar."""

    __tablename__ = "scoring_models"
    __table_args__ = (
        Index(
            "ix_scoring_models_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    directory: Mapped[str] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    platform: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EnterpriseScore(Base):
    """A score as computed: which model, from which profile, when. History is kept; the newest row for the
    active model and the latest profile is the current score."""

    __tablename__ = "enterprise_scores"
    __table_args__ = (Index("ix_enterprise_scores_enterprise_computed", "enterprise_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("financial_profiles.id"))
    model_version: Mapped[str] = mapped_column(String(64))
    pd: Mapped[float] = mapped_column(Float)
    score: Mapped[int]
    grade: Mapped[str] = mapped_column(String(1))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MatchingRound(Base):
    """One run of the matching: its parameters, what it found and how long it took. At most one round runs at
    a time (a unique partial index on the running status), so a second request gets a clear refusal."""

    __tablename__ = "matching_rounds"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'dry_run', 'failed')", name="status_known"),
        Index(
            "ix_matching_rounds_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Proposal(Base):
    """A product proposed for a need in a round, with why (``explanation``) and the enterprise's score at the
    time (``score``). At most one pending proposal per need and product."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected', 'granted', 'expired', 'withdrawn')", name="status_known"
        ),
        Index("ix_proposals_need_status", "need_id", "status"),
        Index("ix_proposals_bank_status", "bank_id", "status"),
        Index("ix_proposals_product_status", "product_id", "status"),
        Index("ix_proposals_created_at", "created_at"),  # statistics by the day a proposal was made
        Index("ix_proposals_need_submitted_at", "need_submitted_at"),  # and by the day its need was submitted
        Index("ix_proposals_enterprise_id", "enterprise_id"),  # a round relinks its enterprises' proposals
        # The banks' median response time: its histogram and middle values (from this index alone when the
        # statistics are filtered by nothing but a bank).
        Index(
            "ix_proposals_response_seconds",
            "response_seconds",
            "bank_id",
            sqlite_where=text("response_seconds IS NOT NULL"),
            postgresql_where=text("response_seconds IS NOT NULL"),
        ),
        # The histogram of the banks' response times of an industry section's enterprises over the whole
        # history (which the response-hour tallies, keyed by size class only, do not answer), from this index
        # alone.
        Index(
            "ix_proposals_answered_industry",
            "enterprise_industry",
            "bank_id",
            "response_seconds",
            sqlite_where=text("response_seconds IS NOT NULL"),
            postgresql_where=text("response_seconds IS NOT NULL"),
        ),
        # The histogram of the banks' response times over a period, from this index alone.
        Index(
            "ix_proposals_answered_created_at",
            "created_at",
            "bank_id",
            "response_seconds",
            sqlite_where=text("response_seconds IS NOT NULL"),
            postgresql_where=text("response_seconds IS NOT NULL"),
        ),
        Index(
            "ix_proposals_one_pending_per_pair",
            "need_id",
            "product_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("matching_rounds.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_needs.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    rank: Mapped[int]
    weight: Mapped[float] = mapped_column(Float)
    rate_min: Mapped[float] = mapped_column(Float)
    rate_max: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Facts of the need that never change, copied so that the statistics read the proposals alone.
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    need_submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The bank's answers as the statistics read them, kept by matchmaker.decisions with each decision:
    # when it first accepted, rejected or granted the proposal, whether it ever accepted or granted it, and
    # the reason code of its rejection (a rejected proposal changes no more).
    first_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    taken_up: Mapped[bool] = mapped_column(default=False, server_default=false())
    rejection_reason: Mapped[str | None] = mapped_column(String(32))
    # Seconds from the proposal to its first answer (None unanswered), kept by keep_response_seconds below:
    # computed per row from the two timestamps, it took most of the banks' view's time.
    response_seconds: Mapped[float | None] = mapped_column(Float)
    # The type of the product when it was proposed, and per scope (matchmaker.scopes) what the statistics
    # count distinct needs and enterprises by (matchmaker.previous_proposals): whether the proposal is its
    # need's first, and when the need of the enterprise's previous proposal was submitted and when that
    # proposal was made.
    product_type: Mapped[str] = mapped_column(String(40))
    first_for_need: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_for_need_at_bank: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_for_need_of_type: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_for_need_at_bank_of_type: Mapped[bool] = mapped_column(default=False, server_default=false())
    previous_need_submitted: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_need_submitted_at_bank: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_need_submitted_of_type: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_need_submitted_at_bank_of_type: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_proposal_made: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_proposal_made_at_bank: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_proposal_made_of_type: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_proposal_made_at_bank_of_type: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # And, overall and at the bank (the scopes the tallies keep), the same times of the enterprise's next
    # proposal there: by these the statistics over a period holding most of the history count the enterprises
    # whose first proposal in it is not their first ever from the proposals before the period.
    next_need_submitted: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_need_submitted_at_bank: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_proposal_made: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_proposal_made_at_bank: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A copy of the enterprise's current classification (matchmaker.classification_copies).
    enterprise_region: Mapped[str] = mapped_column(String(100))
    enterprise_size_class: Mapped[str] = mapped_column(String(8))
    enterprise_industry: Mapped[str] = mapped_column(String(1))

    product: Mapped[LoanProduct] = relationship()


@event.listens_for(Proposal, "before_insert")
@event.listens_for(Proposal, "before_update")
def keep_response_seconds(_mapper: Mapper[Proposal], _connection: Connection, proposal: Proposal) -> None:
    """Write the proposal's ``response_seconds`` whenever the ORM writes the proposal (bulk UPDATEs of
    ``created_at`` or ``first_answered_at`` must set it themselves; decisions.answer_discrepancies checks it)."""
    if proposal.first_answered_at is not None and proposal.created_at is None:  # not yet given its default
        proposal.created_at = utcnow()
    proposal.response_seconds = seconds_to_answer(proposal.created_at, proposal.first_answered_at)


def seconds_to_answer(made: datetime, answered: datetime | None) -> float | None:
    """A proposal's ``response_seconds``: from when it was made to its first answer (None unanswered)."""
    return None if answered is None else (answered - made).total_seconds()


class ProposalTally(Base):
    """The proposals per bank, product type, status, rejection reason ("" for none), size class and industry
    section, summed (a key's figures are the sum of its rows): what the regulators' banks' view and funnel by
    bank or product type count over the whole history (matchmaker.stats), read here instead of every
    proposal. Kept by the database's triggers in the transaction of every write to the proposals
    (db.tallies.PROPOSAL_TALLIES, which defines each figure) and compacted by db.tallies.compact; never
    written otherwise."""

    __tablename__ = "proposal_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)  # the tally is append-only: see db.tallies
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    product_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    rejection_reason: Mapped[str] = mapped_column(String(32))
    enterprise_size_class: Mapped[str] = mapped_column(String(8))
    enterprise_industry: Mapped[str] = mapped_column(String(1))
    proposals: Mapped[int] = mapped_column(BigInteger)
    answered: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)
    response_microseconds: Mapped[int] = mapped_column(BigInteger)
    enterprises_at_bank: Mapped[int] = mapped_column(BigInteger)
    enterprises: Mapped[int] = mapped_column(BigInteger)
    need_enterprises_at_bank: Mapped[int] = mapped_column(BigInteger)
    need_enterprises_of_type: Mapped[int] = mapped_column(BigInteger)
    need_enterprises: Mapped[int] = mapped_column(BigInteger)
    needs_at_bank: Mapped[int] = mapped_column(BigInteger)
    needs_of_type: Mapped[int] = mapped_column(BigInteger)
    needs: Mapped[int] = mapped_column(BigInteger)


class ResponseHourTally(Base):
    """The answered proposals per bank, hour of response and size class, counted by the database's triggers
    (db.tallies.RESPONSE_HOURS): the histogram of the banks' median response time over the whole history."""

    __tablename__ = "response_hour_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)  # the tally is append-only: see db.tallies
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    hour: Mapped[int] = mapped_column(BigInteger)
    enterprise_size_class: Mapped[str] = mapped_column(String(8))
    answered: Mapped[int] = mapped_column(BigInteger)


class LoanTally(Base):
    """The loans per bank, product type, size class and industry section, summed by the database's
    triggers (db.tallies.LOAN_TALLIES): what the funnel by bank or product type counts of the loans over the whole
    history."""

    __tablename__ = "loan_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)  # the tally is append-only: see db.tallies
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    product_type: Mapped[str] = mapped_column(String(40))
    enterprise_size_class: Mapped[str] = mapped_column(String(8))
    enterprise_industry: Mapped[str] = mapped_column(String(1))
    loans: Mapped[int] = mapped_column(BigInteger)
    needs_at_bank: Mapped[int] = mapped_column(BigInteger)
    needs_of_type: Mapped[int] = mapped_column(BigInteger)
    needs: Mapped[int] = mapped_column(BigInteger)
    granted_amount: Mapped[int] = mapped_column(BigInteger)


class ProposalDecision(Base):
    """One change of a proposal's status after it was made (accepted, rejected with a reason code from
    ``reference.codes.REJECT_REASONS``, granted, expired, withdrawn): who, when and why, for the SME's page
    and the statistics. ``actor_account_id`` is NULL for the platform's own changes (expiry, withdrawal)."""

    __tablename__ = "proposal_decisions"
    __table_args__ = (
        CheckConstraint(
            "decision IN ('accepted', 'rejected', 'granted', 'expired', 'withdrawn')", name="decision_known"
        ),
        CheckConstraint("(decision = 'rejected') = (reason IS NOT NULL)", name="rejections_have_a_reason"),
        # The banks' answers, read from the index alone (decisions.answer_discrepancies checks the answers the
        # proposals keep against them).
        Index("ix_proposal_decisions_decision", "decision", "proposal_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The keys of the loans' indexes by key and rate (see Loan): every grouping of the statistics.
RATE_HISTOGRAM_KEYS = (
    "bank_id",
    "product_type",
    "enterprise_industry",
    "enterprise_region",
    "enterprise_size_class",
    "granted_month",
)
RATE_HISTOGRAM_INCLUDE = {"bank_id": ("granted_on",), "granted_month": ("granted_on",)}


class Loan(Base):
    """Credit granted on a proposal (one loan per proposal). ``amount`` is the amount as granted; a later
    correction of the grant lives in the ledger, not here. ``outstanding`` and ``status`` are the loan's
    current state, kept equal to the last ledger event's balance and kind by matchmaker.ledger.

    The ledger figures the regulators' statistics (matchmaker.stats) sum, kept by matchmaker.ledger in the
    transaction of each ledger write so that the statistics read one row per loan instead of the ledger
    (``matchmaker.ledger.loan_figure_discrepancies`` checks them against the ledger): ``granted_amount``
    (the grant with its corrections), ``rollovers`` and ``rollover_amount`` (the ``renewed`` events, the
    amount with corrections), ``defaulted_amount`` (the ``defaulted`` events with corrections),
    ``reported_overdue`` / ``reported_defaulted`` (an ``overdue`` / ``defaulted`` event exists). And what
    the statistics need of the need, which is never edited once submitted: ``days_to_grant`` (from the
    need's submission, its China date, to the grant date), when it was submitted (``need_submitted_at``,
    the funnel's cohort) and whether it offered an IP or a receivables pledge (``offers_ip_pledge``,
    ``offers_receivables``). The type of its product when it was granted (``product_type``: the statistics
    by product type keep a loan's history if the bank later changes the product) and the grant dates of the
    enterprise's previous loans (``previous_loan_on`` etc., see matchmaker.previous_loans), by which the
    statistics count distinct enterprises; and a copy of the enterprise's current region, size class and
    industry section (``enterprise_region`` etc., kept by matchmaker.classification_copies)."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months > 0", name="term_positive"),
        CheckConstraint("outstanding >= 0", name="outstanding_non_negative"),
        CheckConstraint("kind IN ('first_loan', 'new_loan', 'renewal')", name="kind_known"),
        CheckConstraint("status IN ('current', 'overdue', 'defaulted', 'repaid')", name="status_known"),
        # An enterprise has one first loan (matchmaker.decisions.grant refuses a second), so that the
        # statistics' first-time borrowers are their first loans.
        Index(
            "uq_loans_one_first_loan_per_enterprise",
            "enterprise_id",
            unique=True,
            sqlite_where=text("kind = 'first_loan'"),
            postgresql_where=text("kind = 'first_loan'"),
        ),
        # The median rate per grouping, read in the index's order from the index alone (the loans per key and
        # rate: matchmaker.stats_sql.histogram_medians); the bank's also serves the foreign key. The bank's and
        # the month's, which the dashboard reads for every period, hold the grant date (PostgreSQL) for a period
        # too; held by the others, it made their indexes costlier than a hashed pass in the planner's eyes.
        *(
            Index(
                f"ix_loans_{column}_rate",
                column,
                "rate",
                postgresql_include=list(RATE_HISTOGRAM_INCLUDE.get(column, ())),
            )
            for column in RATE_HISTOGRAM_KEYS
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_needs.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))  # indexed with the rate (ix_loans_bank_id_rate)
    amount: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    term_months: Mapped[int]
    granted_on: Mapped[date] = mapped_column(Date, index=True)
    # The grant's month as the statistics group by it (numbered yyyymm, stats_sql.Calendar.month_of_stamp) and
    # its first day, kept by keep_grant_month below: computed per loan, they took a fifth of a monthly grouping.
    granted_month: Mapped[int]
    granted_month_start: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    outstanding: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="current")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_amount: Mapped[int] = mapped_column(BigInteger)
    rollovers: Mapped[int] = mapped_column(default=0, server_default="0")
    rollover_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    defaulted_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reported_overdue: Mapped[bool] = mapped_column(default=False, server_default=false())
    reported_defaulted: Mapped[bool] = mapped_column(default=False, server_default=false())
    days_to_grant: Mapped[int]
    need_submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    offers_ip_pledge: Mapped[bool]
    offers_receivables: Mapped[bool]
    product_type: Mapped[str] = mapped_column(String(40))
    previous_loan_on: Mapped[date | None] = mapped_column(Date)
    previous_loan_at_bank_on: Mapped[date | None] = mapped_column(Date)
    previous_loan_of_type_on: Mapped[date | None] = mapped_column(Date)
    previous_loan_at_bank_of_type_on: Mapped[date | None] = mapped_column(Date)
    enterprise_region: Mapped[str] = mapped_column(String(100))
    enterprise_size_class: Mapped[str] = mapped_column(String(8))
    enterprise_industry: Mapped[str] = mapped_column(String(1))
    first_for_need: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_for_need_at_bank: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_for_need_of_type: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_for_need_at_bank_of_type: Mapped[bool] = mapped_column(default=False, server_default=false())


@event.listens_for(Loan, "before_insert")
@event.listens_for(Loan, "before_update")
def keep_grant_month(_mapper: Mapper[Loan], _connection: Connection, loan: Loan) -> None:
    """Write the loan's ``granted_month`` and ``granted_month_start`` whenever the ORM writes the loan
    (previous_loans.grant_month_discrepancies checks them)."""
    loan.granted_month, loan.granted_month_start = grant_month(loan.granted_on)


def grant_month(granted_on: date) -> tuple[int, date]:
    """The month of a grant date as a loan keeps it: the number yyyymm and the month's first day."""
    return granted_on.year * 100 + granted_on.month, granted_on.replace(day=1)


class CreditEvent(Base):
    """The append-only credit ledger: database triggers (migration 0005) refuse UPDATE and DELETE. A
    correction is a new ``corrected`` event naming the event it corrects, with a signed ``amount``.
    ``term_months`` is the new term of a ``renewed`` event."""

    __tablename__ = "credit_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('granted', 'disbursed', 'repaid', 'overdue', 'defaulted', 'renewed', 'corrected')",
            name="kind_known",
        ),
        CheckConstraint("(kind = 'corrected') = (corrects_event_id IS NOT NULL)", name="corrections_name_an_event"),
        CheckConstraint("kind = 'corrected' OR amount > 0", name="amount_positive"),
        CheckConstraint("balance_before >= 0 AND balance_after >= 0", name="balances_non_negative"),
        Index("ix_credit_events_loan_id_id", "loan_id", "id"),
        # The ledger's sums by kind (matchmaker.ledger.ledger_entries, for reconcile): the events of one kind,
        # and the corrections.
        Index("ix_credit_events_kind_loan_id", "kind", "loan_id", "amount"),
        Index(
            "ix_credit_events_corrections",
            "corrects_event_id",
            sqlite_where=text("kind = 'corrected'"),
            postgresql_where=text("kind = 'corrected'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_before: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int | None]
    corrects_event_id: Mapped[int | None] = mapped_column(ForeignKey("credit_events.id"))
    actor_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    occurred_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


# Its listener keeps the loans' copies of their enterprise's classification; imported here, after Loan, so that
# every session that can write an enterprise's loans has it.
import matchmaker.classification_copies  # noqa: E402, F401
