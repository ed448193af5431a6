"""One matching round as plain numpy arrays, the result of solving it, and the constraint checker.

The problem: choose a set of eligible edges (need i, product j) with maximum total weight such that
- each need gets at most ``k`` edges, and at most one per bank;
- each product gets at most ``product_capacity[j]`` edges (its review capacity);
- the amounts of the needs on a product's edges sum to at most ``overbooking * product_quota[j]`` yuan.

Edges are parallel arrays (one row per eligible pair) rather than objects, so that a round of two million
edges costs a few tens of megabytes and every step can be vectorised.
"""

from dataclasses import dataclass, field

import numpy as np

# A relative tolerance when flooring overbooking * quota, so that e.g. 1.15 * 100 (114.99999999999999 in
# binary floating point) allows 115 yuan.
_LIMIT_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class MatchingInstance:
    """The arrays of one round. Needs are numbered 0..n-1, products 0..m-1, banks 0..B-1 (any integers >= 0).

    The constructor converts the arrays to the dtypes below and rejects malformed input with ValueError:
    mismatched lengths, out-of-range indices, a duplicate (need, product) edge, an amount <= 0, a negative
    capacity or quota, a weight that is not a positive finite number, k < 1 or overbooking < 1.
    """

    need_amount: np.ndarray  # int64[n], yuan, > 0
    product_bank: np.ndarray  # int32[m]
    product_capacity: np.ndarray  # int32[m], >= 0
    product_quota: np.ndarray  # int64[m], remaining quota in yuan, >= 0
    edge_need: np.ndarray  # int32[E]
    edge_product: np.ndarray  # int32[E]
    edge_weight: np.ndarray  # float64[E], > 0
    k: int = 3
    overbooking: float = 1.0
    amount_limit: np.ndarray = field(init=False, repr=False)  # int64[m]: floor(overbooking * quota)

    def __post_init__(self) -> None:
        conversions = {
            "need_amount": np.int64,
            "product_bank": np.int32,
            "product_capacity": np.int32,
            "product_quota": np.int64,
            "edge_need": np.int32,
            "edge_product": np.int32,
            "edge_weight": np.float64,
        }
        for name, dtype in conversions.items():
            array = np.ascontiguousarray(getattr(self, name), dtype=dtype)
            if array.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional")
            object.__setattr__(self, name, array)
        self._validate()
        limit = float(self.overbooking) * self.product_quota.astype(np.float64)
        object.__setattr__(self, "amount_limit", np.floor(limit * (1 + _LIMIT_RTOL)).astype(np.int64))

    def _validate(self) -> None:
        n, m, e = self.n_needs, self.n_products, self.n_edges
        if not (len(self.product_capacity) == len(self.product_quota) == m):
            raise ValueError("product_bank, product_capacity and product_quota must have the same length")
        if not (len(self.edge_product) == len(self.edge_weight) == e):
            raise ValueError("edge_need, edge_product and edge_weight must have the same length")
        if int(self.k) != self.k or self.k < 1:
            raise ValueError("k must be an integer >= 1")
        if not np.isfinite(self.overbooking) or self.overbooking < 1:
            raise ValueError("overbooking must be a finite number >= 1")
        checks = [
            ("need_amount", self.need_amount, lambda a: a > 0, "must be > 0"),
            ("product_bank", self.product_bank, lambda a: a >= 0, "must be >= 0"),
            ("product_capacity", self.product_capacity, lambda a: a >= 0, "must be >= 0"),
            ("product_quota", self.product_quota, lambda a: a >= 0, "must be >= 0"),
            ("edge_need", self.edge_need, lambda a: (a >= 0) & (a < n), f"must be in [0, {n})"),
            ("edge_product", self.edge_product, lambda a: (a >= 0) & (a < m), f"must be in [0, {m})"),
            ("edge_weight", self.edge_weight, lambda a: np.isfinite(a) & (a > 0), "must be finite and > 0"),
        ]
        for name, array, ok, message in checks:
            bad = np.flatnonzero(~ok(array))
            if bad.size:
                raise ValueError(f"{name}[{bad[0]}] {message}")
        if e:
            keys = np.sort(self.edge_need.astype(np.int64) * max(m, 1) + self.edge_product)
            duplicate = np.flatnonzero(keys[1:] == keys[:-1])
            if duplicate.size:
                need, product = divmod(int(keys[duplicate[0]]), max(m, 1))
                raise ValueError(f"duplicate edge (need {need}, product {product})")

    @property
    def n_needs(self) -> int:
        return len(self.need_amount)

    @property
    def n_products(self) -> int:
        return len(self.product_bank)

    @property
    def n_edges(self) -> int:
        return len(self.edge_need)

    def edge_amount(self) -> np.ndarray:
        """int64[E]: the amount of each edge's need."""
        return self.need_amount[self.edge_need]

    def edge_bank(self) -> np.ndarray:
        """int32[E]: the bank of each edge's product."""
        return self.product_bank[self.edge_product]

    def objective(self, chosen: np.ndarray) -> float:
        """Total weight of the chosen edges, summed in float64 over the original weights."""
        return float(self.edge_weight[chosen].sum())


@dataclass(frozen=True)
class MatchingResult:
    """A feasible selection of edges with the proof of its quality.

    ``upper_bound`` is proven: no feasible selection weighs more. ``gap`` = (upper_bound - objective) /
    upper_bound (0 when both are 0), so the selection is within ``gap`` of the optimum.
    """

    chosen: np.ndarray  # int64 edge indices, ascending
    objective: float
    upper_bound: float
    gap: float
    iterations: int  # min-cost-flow solves (0 for solvers that do not use one)
    seconds: float
    solver: str


def relative_gap(objective: float, upper_bound: float) -> float:
    """(upper_bound - objective) / upper_bound, clipped at 0; 0 when the bound is 0."""
    if upper_bound <= 0:
        return 0.0
    return max(0.0, (upper_bound - objective) / upper_bound)


def violations(instance: MatchingInstance, chosen: np.ndarray) -> list[str]:
    """Every constraint the selection breaks, one message each (empty when the selection is feasible):
    valid and distinct edge indices, at most k edges per need, at most one edge per (need, bank), at most
    review_capacity edges per product, and at most floor(overbooking * quota) yuan per product."""
    chosen = np.asarray(chosen, dtype=np.int64)
    if chosen.size and (chosen.min() < 0 or chosen.max() >= instance.n_edges):
        return [f"edge index out of range [0, {instance.n_edges})"]
    problems: list[str] = []
    if np.unique(chosen).size != chosen.size:
        problems.append("an edge is chosen twice")
    needs = instance.edge_need[chosen]
    products = instance.edge_product[chosen]
    per_need = np.bincount(needs, minlength=instance.n_needs)
    problems += [f"need {i}: {per_need[i]} edges > k={instance.k}" for i in np.flatnonzero(per_need > instance.k)]
    banks = instance.product_bank[products].astype(np.int64)
    pairs, counts = np.unique(needs.astype(np.int64) * (int(banks.max(initial=0)) + 1) + banks, return_counts=True)
    for pair in pairs[counts > 1]:
        need, bank = divmod(int(pair), int(banks.max(initial=0)) + 1)
        problems.append(f"need {need}: more than one edge to bank {bank}")
    per_product = np.bincount(products, minlength=instance.n_products)
    over_capacity = np.flatnonzero(per_product > instance.product_capacity)
    problems += [
        f"product {j}: {per_product[j]} edges > review_capacity {instance.product_capacity[j]}" for j in over_capacity
    ]
    load = np.zeros(instance.n_products, dtype=np.int64)
    np.add.at(load, products, instance.need_amount[needs])
    over_quota = np.flatnonzero(load > instance.amount_limit)
    problems += [f"product {j}: {int(load[j])} yuan > limit {instance.amount_limit[j]}" for j in over_quota]
    return problems
