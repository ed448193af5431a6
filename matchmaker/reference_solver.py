"""Reference solvers for tests and the benchmark, not for production rounds.

- ``solve_networkx``: the same flow network as ``matchmaker.flow`` solved by networkx's network simplex, with
  the same integer costs. It ignores the amount quotas, so its selection is the optimum only when no quota
  binds; its objective is always an upper bound (a relaxation).
- ``solve_milp``: the exact integer program through scipy's HiGHS MILP interface, for tiny instances.
"""

import time

import networkx as nx
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, vstack

from matchmaker.flow import SINK, SOURCE, WEIGHT_SCALE, build_network
from matchmaker.instance import MatchingInstance, MatchingResult


def solve_networkx(instance: MatchingInstance) -> MatchingResult:
    start = time.perf_counter()
    network = build_network(instance)
    graph = nx.DiGraph()
    graph.add_node(SOURCE, demand=-network.supply)
    graph.add_node(SINK, demand=network.supply)
    cost = -np.rint(instance.edge_weight * WEIGHT_SCALE).astype(np.int64)
    for tail, head, unit_cost in zip(
        network.edge_tail.tolist(), network.edge_head.tolist(), cost.tolist(), strict=True
    ):
        graph.add_edge(tail, head, capacity=1, weight=unit_cost)
    arcs = zip(network.fixed_tail.tolist(), network.fixed_head.tolist(), network.fixed_capacity.tolist(), strict=True)
    for tail, head, capacity in arcs:
        graph.add_edge(tail, head, capacity=capacity, weight=0)
    _, flow = nx.network_simplex(graph)
    carried = [
        flow[tail][head] > 0 for tail, head in zip(network.edge_tail.tolist(), network.edge_head.tolist(), strict=True)
    ]
    chosen = np.flatnonzero(carried).astype(np.int64)
    objective = instance.objective(chosen)
    return MatchingResult(chosen, objective, objective, 0.0, 1, time.perf_counter() - start, "networkx-simplex")


def solve_milp(instance: MatchingInstance) -> MatchingResult:
    """Exact optimum of the full problem (quotas included); exponential in the worst case."""
    start = time.perf_counter()
    e = instance.n_edges
    columns = np.arange(e)
    banks = int(instance.product_bank.max(initial=0)) + 1
    _, pair = np.unique(instance.edge_need.astype(np.int64) * banks + instance.edge_bank(), return_inverse=True)
    ones = np.ones(e)
    rows = [
        (
            coo_matrix((ones, (instance.edge_need, columns)), shape=(instance.n_needs, e)),
            np.full(instance.n_needs, instance.k),
        ),
        (
            coo_matrix((ones, (pair, columns)), shape=(int(pair.max(initial=-1)) + 1, e)),
            np.ones(int(pair.max(initial=-1)) + 1),
        ),
        (
            coo_matrix((ones, (instance.edge_product, columns)), shape=(instance.n_products, e)),
            instance.product_capacity,
        ),
        (
            coo_matrix(
                (instance.edge_amount().astype(np.float64), (instance.edge_product, columns)),
                shape=(instance.n_products, e),
            ),
            instance.amount_limit,
        ),
    ]
    matrix = vstack([block for block, _ in rows]).tocsr()
    upper = np.concatenate([np.asarray(bound, dtype=np.float64) for _, bound in rows])
    if e == 0:
        chosen = np.empty(0, dtype=np.int64)
    else:
        result = milp(
            -instance.edge_weight,
            constraints=LinearConstraint(matrix, -np.inf, upper),
            integrality=np.ones(e),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": 0.0},
        )
        if not result.success:
            raise RuntimeError(f"MILP failed: {result.message}")
        chosen = np.flatnonzero(result.x > 0.5).astype(np.int64)
    objective = instance.objective(chosen)
    return MatchingResult(chosen, objective, objective, 0.0, 0, time.perf_counter() - start, "scipy-milp")
