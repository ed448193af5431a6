"""The count constraints of a round as a min-cost flow network, solved by OR-Tools' SimpleMinCostFlow.

Nodes: 0 = source, 1 = sink, 2..n+1 = needs, n+2..n+m+1 = products, then one node per (need, bank) pair that
has two or more eligible products (a pair with a single product needs no node: its edge leaves the need
directly). Arcs, in this order:
- one per edge: need or (need, bank) node -> product, capacity 1, cost -round(weight * scale) (``cost_scale``);
- need -> (need, bank), capacity 1 (at most one proposal per bank);
- source -> need, capacity min(k, the need's number of distinct banks);
- product -> sink, capacity review_capacity;
- source -> sink, the bypass: it lets any amount of flow skip the needs, so that fewer proposals are allowed.
The source supplies and the sink absorbs the total capacity of the source -> need arcs. An integral min-cost
flow is then a maximum-weight selection of edges under the count constraints (the polytope is integral).

The edges arcs can be restricted to a subset with other weights (the Lagrangian solver's adjusted weights);
the rest of the network is built once.
"""

from dataclasses import dataclass

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from matchmaker.instance import MatchingInstance

# Weights are floats; the solver needs integer costs. 10^9 resolves weights in (0, 1] to one part in a
# billion (the rounding allowance in the bound, 5·10^-10 per proposal, is then below any displayed gap), and
# costs of at most 10^9 leave OR-Tools' cost scaling (cost × nodes) far from overflowing int64. 10^6 and 10^9
# solved the 10,000-need benchmark round in the same time (10^4 and 10^6 the 100,000-need one). The upper
# bounds below account for the rounding.
WEIGHT_SCALE = 1_000_000_000
SOURCE, SINK = 0, 1


class FlowError(RuntimeError):
    """OR-Tools did not report an optimal flow (it cannot happen on a well-formed network)."""


@dataclass(frozen=True)
class FlowNetwork:
    """The arcs of a round's network except the edge costs."""

    n_nodes: int
    edge_tail: np.ndarray  # int32[E]: the need's node, or its (need, bank) node
    edge_head: np.ndarray  # int32[E]: the product's node
    fixed_tail: np.ndarray  # int32: the arcs that are not edges (need -> group, source -> need, ...)
    fixed_head: np.ndarray  # int32
    fixed_capacity: np.ndarray  # int64
    supply: int  # units of flow at the source: an upper bound on the number of proposals

    @property
    def n_arcs(self) -> int:
        return len(self.edge_tail) + len(self.fixed_tail)


@dataclass(frozen=True)
class FlowSolution:
    """An optimal flow: the edges carrying flow and the proven maximum of the (real-valued) weights."""

    chosen: np.ndarray  # int64 edge indices, ascending
    bound: float  # >= the total weight of any selection that satisfies the count constraints


def build_network(instance: MatchingInstance) -> FlowNetwork:
    """Vectorised construction; one sort of the (need, bank) keys is the only super-linear step."""
    n, m = instance.n_needs, instance.n_products
    product_node = np.arange(m, dtype=np.int64) + 2 + n
    banks = int(instance.product_bank.max(initial=0)) + 1
    key = instance.edge_need.astype(np.int64) * banks + instance.edge_bank()
    pairs, pair_of_edge, pair_size = np.unique(key, return_inverse=True, return_counts=True)
    grouped = pair_size >= 2
    group_node = np.full(len(pairs), -1, dtype=np.int64)
    group_node[grouped] = 2 + n + m + np.arange(int(grouped.sum()))
    need_node = 2 + instance.edge_need.astype(np.int64)
    edge_tail = np.where(grouped[pair_of_edge], group_node[pair_of_edge], need_node)
    pair_need = pairs // banks
    need_capacity = np.minimum(np.bincount(pair_need, minlength=n), instance.k).astype(np.int64)
    supply = int(need_capacity.sum())
    source_arcs = np.flatnonzero(need_capacity)
    fixed_tail = np.concatenate([2 + pair_need[grouped], np.zeros(len(source_arcs)), product_node, [SOURCE]])
    fixed_head = np.concatenate([group_node[grouped], 2 + source_arcs, np.full(m, SINK), [SINK]])
    fixed_capacity = np.concatenate(
        [np.ones(int(grouped.sum())), need_capacity[source_arcs], instance.product_capacity, [supply]]
    )
    return FlowNetwork(
        n_nodes=2 + n + m + int(grouped.sum()),
        edge_tail=edge_tail.astype(np.int32),
        edge_head=product_node[instance.edge_product].astype(np.int32),
        fixed_tail=fixed_tail.astype(np.int32),
        fixed_head=fixed_head.astype(np.int32),
        fixed_capacity=fixed_capacity.astype(np.int64),
        supply=supply,
    )


def solve_flow(network: FlowNetwork, weight: np.ndarray) -> FlowSolution:
    """Maximise the total ``weight`` (float64[E], any sign) of edges under the count constraints.

    Edges whose weight rounds to a cost of 0 or less are left out of the network: with the bypass arc, an
    optimal flow never needs them. ``bound`` adds to the integer optimum the largest rounding error of a kept
    edge times the most edges a selection can have, so it bounds the optimum over the float weights.
    """
    scale = cost_scale(weight)
    scaled = weight * scale
    cost = np.rint(scaled)
    kept = np.flatnonzero(cost >= 1)
    rounding = float(np.max(scaled[weight > 0] - cost[weight > 0], initial=0.0)) / scale
    flow = SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([network.edge_tail[kept], network.fixed_tail]),
        np.concatenate([network.edge_head[kept], network.fixed_head]),
        np.concatenate([np.ones(len(kept), dtype=np.int64), network.fixed_capacity]),
        np.concatenate([-cost[kept].astype(np.int64), np.zeros(len(network.fixed_tail), dtype=np.int64)]),
    )
    flow.set_nodes_supplies(
        np.array([SOURCE, SINK], dtype=np.int32), np.array([network.supply, -network.supply], dtype=np.int64)
    )
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise FlowError(f"min-cost flow status {status}")
    carried = flow.flows(np.arange(len(kept), dtype=np.int32)) > 0
    bound = -flow.optimal_cost() / scale + max(rounding, 0.0) * network.supply
    return FlowSolution(chosen=kept[carried].astype(np.int64), bound=bound)


def cost_scale(weight: np.ndarray) -> float:
    """WEIGHT_SCALE, divided by the largest weight when it exceeds 1 so that no cost exceeds 10^9."""
    return WEIGHT_SCALE / max(1.0, float(np.max(weight, initial=0.0)))
