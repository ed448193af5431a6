"""Greedy selection: take edges in decreasing weight while they fit every constraint.

``greedy_fill`` completes a feasible selection (the Lagrangian solver uses it after repairing a flow
solution); ``solve_greedy`` starts it from nothing and is the benchmark's baseline.
"""

import time

import numpy as np

from matchmaker.instance import MatchingInstance, MatchingResult


def greedy_fill(instance: MatchingInstance, chosen: np.ndarray) -> np.ndarray:
    """Add to a feasible selection the remaining edges, heaviest first, that keep it feasible.

    The candidates are first filtered with numpy (the need has a free slot, the product has review capacity
    and quota left for the amount, the bank is not used yet by the need); the sequential part runs over the
    survivors only, on Python lists (numpy scalar indexing would be several times slower).
    """
    n, m = instance.n_needs, instance.n_products
    chosen = np.asarray(chosen, dtype=np.int64)
    amount = instance.edge_amount()
    edge_product = instance.edge_product
    need_slots = instance.k - np.bincount(instance.edge_need[chosen], minlength=n)
    product_slots = instance.product_capacity - np.bincount(edge_product[chosen], minlength=m)
    quota_left = instance.amount_limit - np.bincount(edge_product[chosen], weights=amount[chosen], minlength=m).astype(
        np.int64
    )
    banks = int(instance.product_bank.max(initial=0)) + 1
    pair = instance.edge_need.astype(np.int64) * banks + instance.edge_bank()
    taken = np.zeros(instance.n_edges, dtype=bool)
    taken[chosen] = True
    open_ = (
        ~taken
        & (need_slots[instance.edge_need] > 0)
        & (product_slots[edge_product] > 0)
        & (amount <= quota_left[edge_product])
        & ~np.isin(pair, pair[chosen])
    )
    candidates = np.flatnonzero(open_)
    candidates = candidates[np.argsort(-instance.edge_weight[candidates], kind="stable")]
    added = _take_in_order(
        candidates.tolist(),
        instance.edge_need[candidates].tolist(),
        edge_product[candidates].tolist(),
        pair[candidates].tolist(),
        amount[candidates].tolist(),
        need_slots.tolist(),
        product_slots.tolist(),
        quota_left.tolist(),
        set(pair[chosen].tolist()),
    )
    return np.sort(np.concatenate([chosen, np.asarray(added, dtype=np.int64)]))


def _take_in_order(
    edges: list[int],
    needs: list[int],
    products: list[int],
    pairs: list[int],
    amounts: list[int],
    need_slots: list[int],
    product_slots: list[int],
    quota_left: list[int],
    used_pairs: set[int],
) -> list[int]:
    added = []
    for edge, need, product, pair, amount in zip(edges, needs, products, pairs, amounts, strict=True):
        if need_slots[need] and product_slots[product] and amount <= quota_left[product] and pair not in used_pairs:
            added.append(edge)
            need_slots[need] -= 1
            product_slots[product] -= 1
            quota_left[product] -= amount
            used_pairs.add(pair)
    return added


def solve_greedy(instance: MatchingInstance) -> MatchingResult:
    """The baseline: no bound is proven, so ``upper_bound`` and ``gap`` are NaN."""
    start = time.perf_counter()
    chosen = greedy_fill(instance, np.empty(0, dtype=np.int64))
    return MatchingResult(
        chosen=chosen,
        objective=instance.objective(chosen),
        upper_bound=float("nan"),
        gap=float("nan"),
        iterations=0,
        seconds=time.perf_counter() - start,
        solver="greedy",
    )
