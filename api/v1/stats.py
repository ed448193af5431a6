"""Regulators' statistics (regulator and admin accounts): credit granted, the funnel from demand to credit,
the banks' responsiveness and risk, overall and by one dimension, as JSON or as CSV (a ``.csv`` path or
``Accept: text/csv``; ``lang=zh|en`` chooses the headers, Chinese by default). What each figure means is in
matchmaker.stats; groups of fewer than three enterprises come back ``suppressed`` with no figures."""

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest import abort
from sqlalchemy.orm import Session

from api.auth import protected
from api.database import session
from api.v1.schemas import NO_NUL, ApiBlueprint
from matchmaker import stats
from matchmaker.stats_csv import stats_csv
from reference.china_time import china_today
from reference.codes import INDUSTRY_SECTIONS, PRODUCT_TYPES, SIZE_CLASSES, codes

blp = ApiBlueprint("stats", __name__, description="Regulators: financing totals, funnel, banks, risk")

ROLES = ("regulator", "admin")
CSV_CONTENT = {"text/csv": {"schema": {"type": "string", "description": "UTF-8 CSV with BOM"}}}


def _one_of(choices: tuple[str, ...] | list[str]) -> ma.validate.OneOf:
    listed = ", ".join(choices)
    return ma.validate.OneOf(choices, error=f"取值应为以下之一 / must be one of: {listed}")


DATE_ERROR = {"invalid": "不是有效的日期（如 2026-12-31） / not a date such as 2026-12-31"}


class StatsArgs(ma.Schema):
    group_by = ma.fields.String(
        validate=_one_of(stats.GROUPINGS), metadata={"description": "One row per value of this dimension"}
    )
    date_from = ma.fields.Date(
        data_key="from",
        error_messages=DATE_ERROR,
        metadata={"description": "First business day (China) of the period, included"},
    )
    date_to = ma.fields.Date(
        data_key="to", error_messages=DATE_ERROR, metadata={"description": "Last business day of the period, included"}
    )
    bank = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2_147_483_647), metadata={"description": "Bank id"})
    product_type = ma.fields.String(validate=_one_of(codes(PRODUCT_TYPES)))
    region = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=100), ma.validate.Regexp(NO_NUL)],
        metadata={"description": "The enterprise's region as registered (blank: every region)"},
    )
    size_class = ma.fields.String(validate=_one_of(codes(SIZE_CLASSES)))
    industry = ma.fields.String(
        validate=_one_of(codes(INDUSTRY_SECTIONS)), metadata={"description": "GB/T 4754-2017 section"}
    )
    lang = ma.fields.String(load_default="zh", validate=_one_of(("zh", "en")), metadata={"description": "CSV headers"})


class BanksArgs(StatsArgs):
    class Meta:
        exclude = ("group_by",)


SHARE_HELP = "Fraction of a loss; give all three shares (summing to 1) or none for the configured rule"


class RiskArgs(StatsArgs):
    fund_share = ma.fields.Float(validate=ma.validate.Range(min=0, max=1), metadata={"description": SHARE_HELP})
    bank_share = ma.fields.Float(validate=ma.validate.Range(min=0, max=1), metadata={"description": SHARE_HELP})
    guarantor_share = ma.fields.Float(validate=ma.validate.Range(min=0, max=1), metadata={"description": SHARE_HELP})


class GroupSchema(ma.Schema):
    dimension = ma.fields.String()
    key = ma.fields.String(metadata={"description": "The value to filter on: a bank id, a code, a region, a month"})
    zh = ma.fields.String()
    en = ma.fields.String()


class ReasonCountSchema(ma.Schema):
    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()
    count = ma.fields.Integer()


def _row_schema(row: type, columns: tuple[stats.Column, ...], name: str, **more: ma.fields.Field) -> type[ma.Schema]:
    """A row's schema from its dataclass: whole numbers for the counts and amounts, numbers for the rest."""
    numbers = {column.name: column for column in columns}
    figures: dict[str, ma.fields.Field] = {}
    for field in fields(row):
        if field.name in numbers:
            kind = ma.fields.Integer if "int" in str(field.type) else ma.fields.Float
            figures[field.name] = kind(allow_none=True, metadata={"description": numbers[field.name].en})
    return ma.Schema.from_dict(
        {
            "group": ma.fields.Nested(GroupSchema, allow_none=True, metadata={"description": "null: the overall row"}),
            "suppressed": ma.fields.Boolean(metadata={"description": "Fewer than 3 enterprises: no figures shown"}),
            **figures,
            **more,
        },
        name=name,
    )


def _answer_schema(row: type[ma.Schema], name: str) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "group_by": ma.fields.String(allow_none=True),
            "overall": ma.fields.Nested(row),
            "groups": ma.fields.List(ma.fields.Nested(row)),
        },
        name=name,
    )


TotalsAnswer = _answer_schema(_row_schema(stats.TotalsRow, stats.TOTALS_COLUMNS, "TotalsRow"), "Totals")
FunnelAnswer = _answer_schema(_row_schema(stats.FunnelRow, stats.FUNNEL_COLUMNS, "FunnelRow"), "Funnel")
BanksAnswer = _answer_schema(
    _row_schema(
        stats.BankResponseRow,
        stats.BANK_RESPONSE_COLUMNS,
        "BankResponseRow",
        rejections=ma.fields.List(ma.fields.Nested(ReasonCountSchema), allow_none=True),
    ),
    "BankResponses",
)
RiskAnswer = _answer_schema(_row_schema(stats.RiskRow, stats.RISK_COLUMNS, "RiskRow"), "Risk")

Report = Callable[[Session, stats.StatsFilter, Any], tuple[Any, list[Any]]]


def _filter(args: dict[str, Any]) -> stats.StatsFilter:
    region = (args.get("region") or "").strip() or None
    try:
        return stats.StatsFilter(
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            bank_id=args.get("bank"),
            product_type=args.get("product_type"),
            region=region,
            size_class=args.get("size_class"),
            industry=args.get("industry"),
        )
    except stats.StatsFilterError as error:
        abort(422, message="统计条件无效 / invalid statistics filter", errors={"query": {error.field: [error.message]}})


def _answer(report: Report, columns: tuple[stats.Column, ...], args: dict[str, Any], name: str, csv: bool) -> Any:
    flt = stats.drop_period_holding_everything(session(), _filter(args))  # the same figures, sooner
    group_by = args.get("group_by")
    overall, groups = report(session(), flt, group_by)
    if csv or request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        body = stats_csv(overall, groups, columns, args["lang"])
        filename = f"{name}-{china_today().isoformat()}.csv"
        return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"})
    return {"group_by": group_by, "overall": asdict(overall), "groups": [asdict(row) for row in groups]}


def _sharing(args: dict[str, Any]) -> stats.SharingRule:
    default: stats.SharingRule = current_app.config["RISK_SHARING"]
    shares = [args.get(f"{part}_share") for part in ("fund", "bank", "guarantor")]
    if all(share is None for share in shares):
        return default
    try:
        return stats.SharingRule(*(share if share is not None else 0.0 for share in shares))
    except stats.StatsFilterError as error:
        abort(422, message="分担比例无效 / invalid sharing rule", errors={"query": {error.field: [error.message]}})


def _routes(path: str, args: type[ma.Schema], answer: type[ma.Schema], summary: str) -> Callable[[Callable], Any]:
    """Register ``view(args, csv)`` at ``path`` (JSON, or CSV on ``Accept: text/csv``) and ``path.csv``."""

    def register(view: Callable[[dict[str, Any], bool], Any]) -> Callable:
        def as_json(query: dict[str, Any]) -> Any:
            return view(query, False)

        def as_csv(query: dict[str, Any]) -> Any:
            return view(query, True)

        for url, endpoint, doc, response in (
            (path, as_json, summary, (200, answer)),
            (f"{path}.csv", as_csv, f"{summary} (CSV)", None),
        ):
            endpoint.__name__ = f"{view.__name__}_{'csv' if response is None else 'json'}"
            endpoint.__doc__ = doc
            decorated = endpoint
            if response is None:
                decorated = blp.response(200, {"type": "string"}, content_type="text/csv", description="UTF-8 CSV")(
                    decorated
                )
            else:
                content = {"application/json": {"schema": response[1]}} | CSV_CONTENT
                ok = {"description": "JSON, or CSV on Accept: text/csv", "content": content}
                decorated = blp.doc(responses={"200": ok})(blp.response(*response)(decorated))
            decorated = blp.arguments(args, location="query")(decorated)
            decorated = protected(blp, *ROLES)(decorated)
            blp.route(url, methods=["GET"])(decorated)
        return view

    return register


@_routes("/totals", StatsArgs, TotalsAnswer, "Credit granted: amount, loans, enterprises, balance, rates, 首贷, 续贷")
def totals(args: dict[str, Any], csv: bool) -> Any:
    return _answer(stats.totals, stats.TOTALS_COLUMNS, args, "totals", csv)


@_routes("/funnel", StatsArgs, FunnelAnswer, "The funnel: needs, proposals, acceptances, grants, unmet demand")
def funnel(args: dict[str, Any], csv: bool) -> Any:
    return _answer(stats.funnel, stats.FUNNEL_COLUMNS, args, "funnel", csv)


@_routes("/banks", BanksArgs, BanksAnswer, "Banks' responsiveness: answers, response times, expiries, reasons")
def banks(args: dict[str, Any], csv: bool) -> Any:
    args = args | {"group_by": "bank"}
    return _answer(
        lambda db, flt, _group: stats.bank_responsiveness(db, flt), stats.BANK_RESPONSE_COLUMNS, args, "banks", csv
    )


@_routes("/risk", RiskArgs, RiskAnswer, "Risk: overdue and default rates, the risk-compensation fund's cover")
def risk(args: dict[str, Any], csv: bool) -> Any:
    sharing = _sharing(args)
    return _answer(
        lambda db, flt, group_by: stats.risk(db, flt, group_by, sharing), stats.RISK_COLUMNS, args, "risk", csv
    )
