"""The eligible edges of a whole round, vectorised: the same rules as ``eligibility.check``, without building a
RuleResult per pair.

A dense needs × products mask is too big for a large round (100,000 × 2,000 = 2·10^8 cells), so the needs
are sorted by amount once; for each product the amount rule selects a contiguous slice by binary search, and
the other rules are numpy masks over that slice. Rules over strings (industry, region, settlement bank) are
decided once per distinct value, and per distinct product criterion, and then looked up by index. Where a
rule's logic is not a plain comparison, the predicate is the one ``eligibility`` uses, so the two cannot drift.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from matchmaker.eligibility import (
    Applicant,
    ProductTerms,
    has_settlement_account,
    industry_permitted,
    is_unsecured,
    offered_kinds,
    product_available,
    quota_available,
    region_permitted,
)


@dataclass(frozen=True, eq=False)
class _Codes:
    """A string column as indices into its distinct values, with a cache of per-criterion lookup tables."""

    values: list[Hashable]
    index: np.ndarray  # int32[n], sorted in the needs' amount order

    def table(self, accepts: Callable[[Hashable], bool]) -> np.ndarray:
        return np.fromiter((accepts(value) for value in self.values), dtype=bool, count=len(self.values))


def _encode(column: Sequence[Hashable], order: np.ndarray) -> _Codes:
    positions: dict[Hashable, int] = {}
    index = np.fromiter((positions.setdefault(value, len(positions)) for value in column), np.int32, len(column))
    return _Codes(list(positions), index[order])


@dataclass(frozen=True, eq=False)
class _Needs:
    """The applicants' columns, sorted by amount."""

    order: np.ndarray  # int64[n]: position in the sorted columns -> index into the applicants
    amount: np.ndarray
    term: np.ndarray
    years: np.ndarray
    has_revenue: np.ndarray
    revenue: np.ndarray
    debt_ratio: np.ndarray  # NaN when unknown: every comparison with NaN is False, as a failed rule
    pd: np.ndarray
    max_rate: np.ndarray  # NaN when the need sets none
    collateral_bits: np.ndarray  # int64 bit set over kind_bit
    kind_bit: dict[str, int]
    industry: _Codes
    region: _Codes
    size_class: _Codes
    settlement: _Codes


def _float(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _needs(applicants: Sequence[Applicant], products: Sequence[ProductTerms], on: date) -> _Needs:
    amount = np.array([a.amount for a in applicants], dtype=np.int64)
    order = np.argsort(amount, kind="stable")
    offered = [offered_kinds(a.collateral_offered, a.guarantee_available) for a in applicants]
    kinds = sorted(set().union(*offered, *(p.collateral for p in products)))
    if len(kinds) > 63:
        raise ValueError("more than 63 distinct collateral kinds")
    kind_bit = {kind: 1 << position for position, kind in enumerate(kinds)}
    bits = np.array([sum(kind_bit[kind] for kind in kinds_offered) for kinds_offered in offered], dtype=np.int64)
    return _Needs(
        order=order,
        amount=amount[order],
        term=np.array([a.term_months for a in applicants], dtype=np.int64)[order],
        years=np.array([a.years_in_business(on) for a in applicants], dtype=np.float64)[order],
        has_revenue=np.array([a.annual_revenue is not None for a in applicants], dtype=bool)[order],
        revenue=np.array([a.annual_revenue or 0 for a in applicants], dtype=np.int64)[order],
        debt_ratio=_float([a.debt_ratio for a in applicants])[order],
        pd=_float([a.pd for a in applicants])[order],
        max_rate=_float([a.max_rate for a in applicants])[order],
        collateral_bits=bits[order],
        kind_bit=kind_bit,
        industry=_encode([a.industry for a in applicants], order),
        region=_encode([a.region for a in applicants], order),
        size_class=_encode([a.size_class for a in applicants], order),
        settlement=_encode([frozenset(a.settlement_banks) for a in applicants], order),
    )


class _Tables:
    """Per-criterion lookup tables, shared by the products that set the same criterion."""

    def __init__(self) -> None:
        self._cache: dict[Hashable, np.ndarray] = {}

    def get(self, key: Hashable, codes: _Codes, accepts: Callable[[Hashable], bool]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = codes.table(accepts)
        return self._cache[key]


def _product_mask(product: ProductTerms, needs: _Needs, part: slice, tables: _Tables) -> np.ndarray:
    """The needs of the slice (already within the amount range) that pass every per-pair rule."""
    mask = (needs.term[part] >= product.term_min_months) & (needs.term[part] <= product.term_max_months)
    if not is_unsecured(product.collateral):
        accepted = sum(needs.kind_bit[kind] for kind in set(product.collateral))
        mask &= (needs.collateral_bits[part] & accepted) != 0
    if product.industries or product.excluded_industries:
        key = ("industry", product.industries, product.excluded_industries)
        table = tables.get(
            key, needs.industry, lambda code: industry_permitted(product.industries, product.excluded_industries, code)
        )
        mask &= table[needs.industry.index[part]]
    if product.regions:
        table = tables.get(
            ("region", product.regions), needs.region, lambda region: region_permitted(product.regions, region)
        )
        mask &= table[needs.region.index[part]]
    if product.size_classes:
        sizes = set(product.size_classes)
        table = tables.get(("size", product.size_classes), needs.size_class, lambda size: size in sizes)
        mask &= table[needs.size_class.index[part]]
    if product.min_years_in_business is not None:
        mask &= needs.years[part] >= product.min_years_in_business
    if product.min_annual_revenue is not None:
        mask &= needs.has_revenue[part] & (needs.revenue[part] >= product.min_annual_revenue)
    if product.max_debt_ratio is not None:
        mask &= needs.debt_ratio[part] <= product.max_debt_ratio
    if product.max_pd is not None:
        mask &= needs.pd[part] <= product.max_pd
    if product.requires_settlement_account:
        key = ("settlement", product.bank_code, product.bank_name)
        table = tables.get(
            key, needs.settlement, lambda banks: has_settlement_account(product.bank_code, product.bank_name, banks)
        )
        mask &= table[needs.settlement.index[part]]
    max_rate = needs.max_rate[part]
    mask &= np.isnan(max_rate) | (max_rate >= product.rate_min)
    return mask


def candidate_edges(
    products: Sequence[ProductTerms], applicants: Sequence[Applicant], on: date
) -> tuple[np.ndarray, np.ndarray]:
    """(edge_need, edge_product): int32 indices into ``applicants`` and ``products`` of every pair for which
    ``check(product, applicant, on).passed``, sorted by need then product."""
    if not products or not applicants:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    needs = _needs(applicants, products, on)
    tables = _Tables()
    edge_need: list[np.ndarray] = []
    edge_product: list[np.ndarray] = []
    for j, product in enumerate(products):
        if not (
            product_available(product, applicants[0], on).passed and quota_available(product, applicants[0], on).passed
        ):
            continue
        low = int(np.searchsorted(needs.amount, product.amount_min, side="left"))
        high = int(np.searchsorted(needs.amount, product.amount_max, side="right"))
        if low >= high:
            continue
        part = slice(low, high)
        chosen = needs.order[part][_product_mask(product, needs, part, tables)]
        edge_need.append(chosen)
        edge_product.append(np.full(chosen.size, j, dtype=np.int64))
    if not edge_need:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    need_index, product_index = np.concatenate(edge_need), np.concatenate(edge_product)
    order = np.lexsort((product_index, need_index))
    return need_index[order].astype(np.int32), product_index[order].astype(np.int32)
