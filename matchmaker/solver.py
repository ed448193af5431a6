"""The production solver: a min-cost flow for the count constraints, a Lagrangian relaxation for the quotas.

The amount quotas (Σ amount ≤ floor(overbooking · quota) per product) are moved into the objective with a
multiplier λ_j ≥ 0 per product (weight per yuan): edge weights become w_ij − λ_j·a_i, and each iteration is one
OR-Tools min-cost flow on those weights. Its optimum plus Σ_j λ_j·limit_j bounds the true optimum from above
for any λ ≥ 0 (at the best λ it equals the LP bound, as the flow polytope is integral). Each flow solution is
made feasible (``repair``, then ``greedy_fill``); the best one is kept.

The flow solves dominate the time (one is ~all of it on a 100,000-need round), so the solver avoids them:
- a product whose ``capacity`` largest eligible amounts fit its limit can never exceed its quota; when no
  product can, the first flow solution is feasible and optimal and is returned as is (one solve);
- otherwise λ starts at ``estimate_multipliers`` (a flow-free relaxation on a sample of the needs), which
  usually brings the first solve within 0.5% of the LP bound; only then does the solver fall back on projected
  subgradient steps with Polyak's step length (θ·(bound − best objective)/‖g‖², θ halved when the bound stalls
  for two iterations), each a full flow solve.
Measured on bench.instances 100,000 × 2,000 × 20 with ~30% binding quotas: 20 subgradient solves from λ = 0
reached a 0.10% gap in 340 s (loaded machine); one solve at the estimate reached 0.14% (6–12 s of flow plus
1–4 s of estimate).
"""

import time

import numpy as np

from matchmaker.dual_estimate import estimate_multipliers
from matchmaker.flow import build_network, solve_flow
from matchmaker.greedy import greedy_fill
from matchmaker.instance import MatchingInstance, MatchingResult, relative_gap

SOLVER_NAME = "ortools-mcf+lagrangian"
INITIAL_STEP = 0.25
DEFAULT_TOLERANCE = 5e-3  # the 0.5% the product specification asks for


def solve(
    instance: MatchingInstance,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = 20,
    time_limit: float | None = None,
) -> MatchingResult:
    """Stop when the gap is at most ``tolerance``, after ``max_iterations`` flow solves, or after the first
    iteration that ends past ``time_limit`` seconds."""
    start = time.perf_counter()
    network = build_network(instance)
    amount = instance.edge_amount().astype(np.float64)
    product = instance.edge_product
    limit = instance.amount_limit.astype(np.float64)
    # An edge whose amount alone exceeds the product's limit is in no feasible selection: leaving it out keeps
    # the bound valid and makes it tighter.
    weight = np.where(amount <= limit[product], instance.edge_weight, 0.0)
    can_bind = quotas_that_can_bind(instance, weight > 0)
    if not can_bind.any():
        flow = solve_flow(network, weight)
        objective = instance.objective(flow.chosen)
        return MatchingResult(
            chosen=flow.chosen,
            objective=objective,
            upper_bound=flow.bound,
            gap=relative_gap(objective, flow.bound),
            iterations=1,
            seconds=time.perf_counter() - start,
            solver=SOLVER_NAME,
        )
    multiplier = estimate_multipliers(instance, weight, can_bind)
    best = np.empty(0, dtype=np.int64)
    best_objective, best_bound = 0.0, np.inf
    step, stalled, iterations = INITIAL_STEP, 0, 0
    while iterations < max_iterations:
        iterations += 1
        flow = solve_flow(network, weight - multiplier[product] * amount)
        bound = flow.bound + float(multiplier @ limit)
        if bound < best_bound:
            best_bound, stalled = bound, 0
        else:
            stalled += 1
        candidate = greedy_fill(instance, repair(instance, flow.chosen))
        objective = instance.objective(candidate)
        if objective > best_objective:
            best, best_objective = candidate, objective
        if relative_gap(best_objective, best_bound) <= tolerance:
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
        load = np.bincount(product[flow.chosen], weights=amount[flow.chosen], minlength=instance.n_products)
        subgradient = np.where(can_bind & ((load > limit) | (multiplier > 0)), load - limit, 0.0)
        norm = float(subgradient @ subgradient)
        if norm == 0:  # the flow solution is feasible and complementary: it is optimal
            break
        if stalled >= 2:
            step, stalled = step / 2, 0
        multiplier = np.maximum(0.0, multiplier + step * (bound - best_objective) / norm * subgradient)
    return MatchingResult(
        chosen=best,
        objective=best_objective,
        upper_bound=best_bound,
        gap=relative_gap(best_objective, best_bound),
        iterations=iterations,
        seconds=time.perf_counter() - start,
        solver=SOLVER_NAME,
    )


def quotas_that_can_bind(instance: MatchingInstance, usable: np.ndarray) -> np.ndarray:
    """bool[m]: the products whose quota some selection meeting the count constraints would exceed, i.e.
    whose ``capacity`` largest amounts among their ``usable`` edges sum to more than the limit. Only the
    products whose usable amounts all together exceed the limit are sorted."""
    m = instance.n_products
    amount = instance.edge_amount()
    total = np.bincount(instance.edge_product[usable], weights=amount[usable], minlength=m)
    suspect = total > instance.amount_limit
    edges = np.flatnonzero(usable & suspect[instance.edge_product])
    edges = edges[np.lexsort((-amount[edges], instance.edge_product[edges]))]
    products = instance.edge_product[edges]
    rank = np.arange(len(edges)) - np.searchsorted(products, products)
    largest = rank < instance.product_capacity[products]
    fullest = np.bincount(products[largest], weights=amount[edges[largest]], minlength=m)
    return fullest > instance.amount_limit


def repair(instance: MatchingInstance, chosen: np.ndarray) -> np.ndarray:
    """Make a selection that meets the count constraints meet the quotas too: on each product over its
    limit, keep the edges with the most weight per yuan while their amounts fit, and drop the rest."""
    amount = instance.edge_amount()
    product = instance.edge_product[chosen]
    load = np.bincount(product, weights=amount[chosen], minlength=instance.n_products)
    on_violated = load[product] > instance.amount_limit[product]
    if not on_violated.any():
        return chosen
    suspect = chosen[on_violated]
    order = np.lexsort((-instance.edge_weight[suspect] / amount[suspect], product[on_violated]))
    suspect = suspect[order]
    suspect_product = instance.edge_product[suspect]
    cumulative = np.cumsum(amount[suspect])
    first = np.searchsorted(suspect_product, suspect_product)  # the first edge of the same product
    before = np.where(first > 0, cumulative[first - 1], 0)
    fits = cumulative - before <= instance.amount_limit[suspect_product]
    return np.sort(np.concatenate([chosen[~on_violated], suspect[fits]]))
