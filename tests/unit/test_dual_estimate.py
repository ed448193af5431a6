"""The flow-free parts of the solver: which quotas can bind, the split dual D(p, λ), and the multiplier
estimate that lets one flow solve reach the target gap."""

import numpy as np
import pytest

from bench.instances import SIZES, Size, generate
from matchmaker.dual_estimate import _SplitDual, estimate_multipliers
from matchmaker.instance import MatchingInstance, violations
from matchmaker.reference_solver import solve_milp
from matchmaker.solver import quotas_that_can_bind, solve
from tests.unit.test_solver import make, random_instance


def test_a_quota_binds_only_if_the_capacity_largest_amounts_exceed_it():
    # Product 0: capacity 2, amounts 100, 200, 300 → the two largest (500) exceed 450: can bind.
    # Product 1: capacity 1, amounts 100, 200 → the largest (200) fits 250, although all (300) do not.
    # Product 2: the 900-yuan edge is unusable (left out by the caller), the rest fits.
    instance = make(
        [100, 200, 300, 900],
        [0, 1, 2],
        [2, 1, 5],
        [450, 250, 600],
        [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (3, 2)],
        [0.5] * 9,
    )
    usable = np.ones(instance.n_edges, dtype=bool)
    usable[8] = False
    assert quotas_that_can_bind(instance, usable).tolist() == [True, False, False]


def test_a_round_whose_quotas_cannot_bind_takes_one_solve_and_has_no_gap():
    instance = generate(SIZES[0], seed=2)
    assert not quotas_that_can_bind(instance, np.ones(instance.n_edges, dtype=bool)).any()
    result = solve(instance, tolerance=0.0)
    assert (result.iterations, result.gap) == (1, pytest.approx(0.0, abs=1e-5))  # the integer-cost rounding


def brute_force_best(instance: MatchingInstance, weight: np.ndarray) -> tuple[float, list[int]]:
    """Each need's k best positive weights, one per bank, by plain loops: their sum and their edges."""
    total, taken = 0.0, []
    for need in range(instance.n_needs):
        per_bank: dict[int, int] = {}
        for edge in np.flatnonzero(instance.edge_need == need):
            bank = int(instance.product_bank[instance.edge_product[edge]])
            if weight[edge] > 0 and (bank not in per_bank or weight[edge] > weight[per_bank[bank]]):
                per_bank[bank] = int(edge)
        best = sorted(per_bank.values(), key=lambda edge: -weight[edge])[: instance.k]
        total += float(weight[best].sum())
        taken += best
    return total, taken


@pytest.mark.parametrize("seed", range(10))
def test_the_split_dual_is_an_upper_bound_and_splits_by_need(seed):
    instance = random_instance(seed, tight=True, k=1 + seed % 3)
    unit = 100_000.0
    dual = _SplitDual(instance, instance.edge_weight, unit)
    rng = np.random.default_rng(seed)
    price, multiplier = rng.uniform(0, 0.5, instance.n_products), rng.uniform(0, 0.2, instance.n_products)
    best, count, load = dual(price, multiplier)
    adjusted = (
        instance.edge_weight
        - price[instance.edge_product]
        - multiplier[instance.edge_product] * (instance.edge_amount() / unit)
    )
    expected, taken = brute_force_best(instance, adjusted)
    assert best == pytest.approx(expected, abs=1e-5)
    assert count.tolist() == np.bincount(instance.edge_product[taken], minlength=instance.n_products).tolist()
    amounts = instance.edge_amount()[taken] / unit
    assert load == pytest.approx(np.bincount(instance.edge_product[taken], amounts, instance.n_products), abs=1e-5)
    bound = best + instance.product_capacity @ price + instance.amount_limit / unit @ multiplier
    assert bound >= solve_milp(instance).objective - 1e-5


def test_the_estimate_prices_only_the_quotas_that_can_bind():
    instance = generate(SIZES[0], seed=4, tight=True)
    can_bind = quotas_that_can_bind(instance, np.ones(instance.n_edges, dtype=bool))
    multiplier = estimate_multipliers(instance, instance.edge_weight, can_bind)
    assert can_bind.any() and (multiplier[can_bind] > 0).any()
    assert (multiplier[~can_bind] == 0).all() and (multiplier >= 0).all()


@pytest.mark.parametrize("size", [SIZES[0], Size(5_000, 200, 10)])  # all needs; a sample, then all
def test_with_binding_quotas_one_flow_solve_at_the_estimate_reaches_half_a_percent(size):
    instance = generate(size, seed=1, tight=True)
    result = solve(instance)
    assert result.iterations == 1
    assert result.gap <= 0.005


def test_a_sample_without_edges_still_leads_to_the_optimum():
    # 30,000 needs, only the first two have edges: the sample of 3,000 needs leaves both out.
    amount = np.full(30_000, 100)
    instance = make(amount, [0, 1], [2, 1], [100, 10**6], [(0, 0), (1, 0), (1, 1)], [0.9, 0.8, 0.3])
    result = solve(instance)
    assert violations(instance, result.chosen) == []
    assert result.objective == pytest.approx(0.9 + 0.3)  # the quota fits one of the two 100-yuan needs
    assert result.gap <= 0.005
