"""The matching solver against exact references: networkx's network simplex when no quota binds, scipy's MILP
when quotas bind; plus the edge cases of a round and the constraint checker itself."""

import numpy as np
import pytest

from bench.instances import SIZES, generate
from matchmaker.flow import build_network
from matchmaker.greedy import solve_greedy
from matchmaker.instance import MatchingInstance, violations
from matchmaker.reference_solver import solve_milp, solve_networkx
from matchmaker.solver import solve


def random_instance(seed: int, *, needs=12, products=6, banks=3, density=0.5, tight=False, k=3, overbooking=1.0):
    rng = np.random.default_rng(seed)
    pairs = np.argwhere(rng.random((needs, products)) < density)
    amount = rng.integers(10, 100, needs) * 10_000
    capacity = rng.integers(0, 5, products)
    quota = np.full(products, 10**12)
    if tight:
        quota = rng.integers(0, 4, products) * 300_000
    return MatchingInstance(
        need_amount=amount,
        product_bank=rng.integers(0, banks, products),
        product_capacity=capacity,
        product_quota=quota,
        edge_need=pairs[:, 0],
        edge_product=pairs[:, 1],
        edge_weight=rng.uniform(0.01, 1.0, len(pairs)),
        k=k,
        overbooking=overbooking,
    )


def flow_violates_a_quota(instance: MatchingInstance) -> bool:
    return any("yuan" in message for message in violations(instance, solve_networkx(instance).chosen))


@pytest.mark.parametrize("seed", range(40))
def test_without_binding_quotas_the_objective_is_the_networkx_optimum(seed):
    instance = random_instance(seed, needs=15, products=8, k=1 + seed % 3)
    result = solve(instance)
    reference = solve_networkx(instance)
    assert violations(instance, result.chosen) == []
    assert result.objective == pytest.approx(reference.objective, abs=1e-6 * max(1, len(reference.chosen)))
    assert result.iterations == 1
    assert result.gap < 1e-5
    assert result.upper_bound >= reference.objective - 1e-9


@pytest.mark.parametrize("seed", range(40))
def test_with_binding_quotas_the_result_is_within_its_gap_of_the_exact_optimum(seed):
    instance = random_instance(seed, tight=True, overbooking=1.0 + (seed % 4) * 0.25)
    result = solve(instance, max_iterations=30)
    optimum = solve_milp(instance).objective
    assert violations(instance, result.chosen) == []
    assert result.objective <= optimum + 1e-9
    assert result.upper_bound >= optimum - 1e-9
    assert result.objective >= optimum - result.gap * result.upper_bound - 1e-9
    assert result.gap == pytest.approx((result.upper_bound - result.objective) / result.upper_bound if optimum else 0)


def test_the_quota_instances_above_do_bind():
    binding = [seed for seed in range(40) if flow_violates_a_quota(random_instance(seed, tight=True))]
    assert len(binding) >= 20


def test_a_generated_round_with_binding_quotas_is_solved_within_half_a_percent():
    instance = generate(SIZES[0], seed=3, tight=True)
    assert flow_violates_a_quota(instance)
    result = solve(instance)
    assert violations(instance, result.chosen) == []
    assert result.gap <= 0.005
    assert result.objective > solve_greedy(instance).objective


def test_greedy_is_feasible_and_not_better_than_the_optimum():
    for seed in range(10):
        instance = random_instance(seed, tight=seed % 2 == 0)
        greedy = solve_greedy(instance)
        assert violations(instance, greedy.chosen) == []
        assert greedy.objective <= solve_milp(instance).objective + 1e-9


def make(amount, bank, capacity, quota, edges, weights, **params):
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return MatchingInstance(amount, bank, capacity, quota, edges[:, 0], edges[:, 1], weights, **params)


def test_empty_rounds_give_an_empty_selection():
    for instance in (
        make([], [0, 1], [2, 2], [10**9, 10**9], [], []),  # no needs
        make([100, 200], [], [], [], [], []),  # no products
        make([100, 200], [0], [2], [10**9], [], []),  # no edges
    ):
        result = solve(instance)
        assert result.chosen.size == 0
        assert (result.objective, result.upper_bound, result.gap) == (0.0, 0.0, 0.0)


def test_a_product_with_quota_or_capacity_zero_gets_nothing():
    instance = make(
        [100, 100], [0, 1, 2], [5, 0, 5], [0, 10**9, 10**9], [(0, 0), (0, 1), (1, 0), (1, 2)], [0.9, 0.8, 0.9, 0.1]
    )
    result = solve(instance)
    assert instance.edge_product[result.chosen].tolist() == [2]
    assert result.objective == pytest.approx(0.1)
    assert result.upper_bound == pytest.approx(0.1, abs=1e-5)


def test_a_need_no_product_accepts_stays_unmatched():
    instance = make([100, 100, 100], [0], [3], [10**9], [(0, 0), (2, 0)], [0.5, 0.4])
    assert sorted(instance.edge_need[solve(instance).chosen].tolist()) == [0, 2]


def test_products_of_one_bank_give_each_need_at_most_one_proposal():
    instance = make(
        [100, 100],
        [7, 7, 7],
        [2, 2, 2],
        [10**9] * 3,
        [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2)],
        [0.9, 0.8, 0.7, 0.6, 0.5],
    )
    result = solve(instance)
    assert instance.edge_need[result.chosen].tolist() == [0, 1]
    assert result.objective == pytest.approx(1.5)


def test_k_one_and_overbooking():
    edges = [(0, 0), (0, 1), (1, 0), (1, 1)]
    k1 = make([100, 100], [0, 1], [2, 2], [10**9, 10**9], edges, [0.9, 0.8, 0.7, 0.6], k=1)
    assert solve(k1).objective == pytest.approx(0.9 + 0.7)
    # Quota 150 yuan fits one 100-yuan need; overbooking 2.0 lifts the limit to 300 and fits both.
    tight = make([100, 100], [0], [2], [150], [(0, 0), (1, 0)], [0.9, 0.7])
    assert solve(tight).objective == pytest.approx(0.9)
    overbooked = make([100, 100], [0], [2], [150], [(0, 0), (1, 0)], [0.9, 0.7], overbooking=2.0)
    assert solve(overbooked).objective == pytest.approx(1.6)
    assert overbooked.amount_limit.tolist() == [300]


def test_the_bank_node_exists_only_for_two_or_more_products_of_one_bank():
    instance = make([100, 100], [0, 0, 1], [2, 2, 2], [10**9] * 3, [(0, 0), (0, 1), (0, 2), (1, 2)], [0.5] * 4)
    network = build_network(instance)
    assert network.n_nodes == 2 + 2 + 3 + 1  # source, sink, needs, products, one (need 0, bank 0) node


def test_violations_names_every_broken_constraint():
    instance = make(
        [100, 100, 100, 100],
        [0, 0, 1],
        [1, 5, 5],
        [10**9, 10**9, 150],
        [(0, 0), (0, 1), (0, 2), (1, 0), (2, 2), (3, 2)],
        [0.5] * 6,
        k=2,
    )
    messages = violations(instance, np.arange(6))
    assert any(m.startswith("need 0: 3 edges > k=2") for m in messages)
    assert any(m.startswith("need 0: more than one edge to bank 0") for m in messages)
    assert any(m.startswith("product 0: 2 edges > review_capacity 1") for m in messages)
    assert any(m.startswith("product 2: 300 yuan > limit 150") for m in messages)
    assert "an edge is chosen twice" in violations(instance, [0, 0])
    assert violations(instance, [6]) == ["edge index out of range [0, 6)"]
    assert violations(instance, [0, 2]) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"edge_weight": [0.0]}, "edge_weight[0] must be finite and > 0"),
        ({"need_amount": [0]}, "need_amount[0] must be > 0"),
        ({"edge_product": [3]}, "edge_product[0] must be in [0, 1)"),
        ({"product_quota": [-1]}, "product_quota[0] must be >= 0"),
        ({"k": 0}, "k must be an integer >= 1"),
        ({"overbooking": 0.5}, "overbooking must be a finite number >= 1"),
        (
            {"edge_need": [0, 0], "edge_product": [0, 0], "edge_weight": [0.5, 0.6]},
            "duplicate edge (need 0, product 0)",
        ),
    ],
)
def test_malformed_instances_are_rejected(change, message):
    fields = {
        "need_amount": [100],
        "product_bank": [0],
        "product_capacity": [1],
        "product_quota": [100],
        "edge_need": [0],
        "edge_product": [0],
        "edge_weight": [0.5],
    } | change
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        MatchingInstance(**fields)
