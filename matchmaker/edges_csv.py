"""A round's candidate edges as a CSV file, so that anyone can audit or re-solve the round independently.

Layout: a header line, then one line per eligible (need, product) edge:

    need,product,weight,amount,bank,capacity,quota,k,overbooking

``need`` and ``product`` are identifiers (any integers, e.g. database ids); ``amount`` is the need's amount in
yuan; ``bank``, ``capacity`` (review capacity) and ``quota`` (remaining quota, yuan) belong to the product;
``k`` (proposals per need) and ``overbooking`` are the round's parameters, repeated on every line so that the
file stands alone. Weights are written with Python's shortest round-trip repr, so a re-solve sees the same
floats. Needs and products without any edge are not written: they cannot change the optimum.
"""

import csv
from pathlib import Path

import numpy as np

from matchmaker.instance import MatchingInstance

COLUMNS = ("need", "product", "weight", "amount", "bank", "capacity", "quota", "k", "overbooking")


def export_edges_csv(
    instance: MatchingInstance,
    path: str | Path,
    need_ids: np.ndarray | None = None,
    product_ids: np.ndarray | None = None,
) -> None:
    """Write the edges; ``need_ids``/``product_ids`` name needs and products (default: their indices)."""
    need_ids = np.arange(instance.n_needs) if need_ids is None else np.asarray(need_ids)
    product_ids = np.arange(instance.n_products) if product_ids is None else np.asarray(product_ids)
    need, product = instance.edge_need, instance.edge_product
    columns = (
        need_ids[need].tolist(),
        product_ids[product].tolist(),
        [repr(w) for w in instance.edge_weight.tolist()],
        instance.need_amount[need].tolist(),
        instance.product_bank[product].tolist(),
        instance.product_capacity[product].tolist(),
        instance.product_quota[product].tolist(),
    )
    constant = (instance.k, repr(float(instance.overbooking)))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(row + constant for row in zip(*columns, strict=True))


def read_edges_csv(path: str | Path) -> MatchingInstance:
    """Read a file written by ``export_edges_csv`` (needs and products renumbered densely in id order).
    Raises ValueError on a wrong header or when a need's amount or a product's bank, capacity or quota, or
    the round's k or overbooking, differ between lines."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise ValueError(f"expected the header {','.join(COLUMNS)}")
        rows = list(reader)
    table = np.array(rows, dtype=object).reshape(len(rows), len(COLUMNS))
    integer = {
        name: table[:, COLUMNS.index(name)].astype(np.int64)
        for name in COLUMNS
        if name not in ("weight", "overbooking")
    }
    weight = table[:, COLUMNS.index("weight")].astype(np.float64)
    overbooking = table[:, COLUMNS.index("overbooking")].astype(np.float64)
    need_ids, edge_need = np.unique(integer["need"], return_inverse=True)
    product_ids, edge_product = np.unique(integer["product"], return_inverse=True)
    need_amount = _per_node(integer["amount"], edge_need, len(need_ids), "amount")
    product_values = {
        name: _per_node(integer[name], edge_product, len(product_ids), name) for name in ("bank", "capacity", "quota")
    }
    if len(np.unique(integer["k"])) > 1 or len(np.unique(overbooking)) > 1:
        raise ValueError("k and overbooking must be the same on every line")
    return MatchingInstance(
        need_amount=need_amount,
        product_bank=product_values["bank"],
        product_capacity=product_values["capacity"],
        product_quota=product_values["quota"],
        edge_need=edge_need,
        edge_product=edge_product,
        edge_weight=weight,
        k=int(integer["k"][0]) if len(rows) else 3,
        overbooking=float(overbooking[0]) if len(rows) else 1.0,
    )


def _per_node(values: np.ndarray, node: np.ndarray, count: int, name: str) -> np.ndarray:
    result = np.zeros(count, dtype=np.int64)
    result[node] = values
    if np.any(result[node] != values):
        raise ValueError(f"{name} differs between lines of the same need or product")
    return result
