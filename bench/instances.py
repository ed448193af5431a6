"""A seeded generator of realistic matching rounds for the benchmark (and for tests that need volume).

- amounts: log-normal, median 50万 yuan (sigma 1), at least 1万;
- banks: min(40, max(2, products // 10)) of them, products spread over them at random;
- edges: each need has Poisson(mean) distinct products, drawn in proportion to a log-normal popularity, so a
  few products attract many needs (as real flagship products do);
- weights in (0, 1]: a product quality term, shared by its edges, plus noise per edge;
- review capacity: 5%-30% of the product's in-degree (rounded up), so capacity binds on many products;
- quota: loose (the default) = the sum of the amounts of every need eligible for the product, so it can never
  bind; ``tight=True`` gives ~30% of the products (drawn at random) a quota of 30%-90% of capacity × median
  amount, which binds whenever the product fills up.
"""

from dataclasses import dataclass

import numpy as np

from matchmaker.instance import MatchingInstance

MEDIAN_AMOUNT = 500_000


@dataclass(frozen=True)
class Size:
    needs: int
    products: int
    edges_per_need: int

    @property
    def label(self) -> str:
        return f"{self.needs:,}×{self.products:,}×{self.edges_per_need}"


SIZES = (Size(1_000, 100, 10), Size(10_000, 500, 20), Size(100_000, 2_000, 20))


def generate(
    size: Size, *, seed: int = 0, tight: bool = False, k: int = 3, overbooking: float = 1.0
) -> MatchingInstance:
    rng = np.random.default_rng(seed)
    n, m = size.needs, size.products
    amount = np.maximum(np.rint(rng.lognormal(np.log(MEDIAN_AMOUNT), 1.0, n)), 10_000).astype(np.int64)
    product_bank = rng.integers(0, min(40, max(2, m // 10)), m).astype(np.int32)
    popularity = rng.lognormal(0.0, 1.0, m)
    edge_need, edge_product = _sample_edges(rng, n, popularity / popularity.sum(), size.edges_per_need)
    quality = popularity / popularity.max()
    weight = np.clip(0.3 * quality[edge_product] + 0.7 * rng.beta(2.0, 2.0, len(edge_need)), 1e-3, 1.0)
    indegree = np.bincount(edge_product, minlength=m)
    capacity = np.ceil(indegree * rng.uniform(0.05, 0.3, m)).astype(np.int32)
    quota = np.bincount(edge_product, weights=amount[edge_need].astype(np.float64), minlength=m).astype(np.int64)
    if tight:
        binding = rng.random(m) < 0.3
        quota[binding] = (
            capacity[binding].astype(np.int64) * MEDIAN_AMOUNT * rng.uniform(0.3, 0.9, int(binding.sum()))
        ).astype(np.int64)
    return MatchingInstance(
        need_amount=amount,
        product_bank=product_bank,
        product_capacity=capacity,
        product_quota=quota,
        edge_need=edge_need,
        edge_product=edge_product,
        edge_weight=weight,
        k=k,
        overbooking=overbooking,
    )


def _sample_edges(
    rng: np.random.Generator, n: int, probability: np.ndarray, mean: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct products per need: draw with replacement 1.5× the wanted degree plus 5, drop repeats, keep
    the first ``degree`` of each need."""
    m = len(probability)
    degree = np.minimum(rng.poisson(mean, n), m)
    draws = np.ceil(degree * 1.5).astype(np.int64) + 5
    need = np.repeat(np.arange(n, dtype=np.int64), draws)
    product = np.searchsorted(np.cumsum(probability), rng.random(len(need)) * probability.sum())
    product = np.minimum(product, m - 1)
    key = need * m + product
    _, first = np.unique(key, return_index=True)
    first.sort()
    need, product = need[first], product[first]
    start = np.searchsorted(need, np.arange(n))
    rank = np.arange(len(need)) - start[need]
    keep = rank < degree[need]
    return need[keep].astype(np.int32), product[keep].astype(np.int32)
