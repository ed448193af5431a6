"""A round exported as CSV re-solves to the same objective, and a malformed file is rejected."""

import numpy as np
import pytest

from bench.instances import SIZES, generate
from matchmaker.edges_csv import COLUMNS, export_edges_csv, read_edges_csv
from matchmaker.reference_solver import solve_milp
from matchmaker.solver import solve
from tests.unit.test_solver import random_instance


@pytest.mark.parametrize("tight", [False, True])
def test_an_exported_round_re_solves_to_the_same_objective(tmp_path, tight):
    instance = generate(SIZES[0], seed=5, tight=tight, overbooking=1.1)
    path = tmp_path / "round.csv"
    export_edges_csv(instance, path)
    again = read_edges_csv(path)
    assert again.n_edges == instance.n_edges
    assert np.array_equal(again.edge_weight, instance.edge_weight)
    assert (again.k, again.overbooking) == (instance.k, instance.overbooking)
    assert solve(again).objective == solve(instance).objective


def test_ids_are_written_and_renumbered(tmp_path):
    instance = random_instance(1, tight=True)
    path = tmp_path / "round.csv"
    export_edges_csv(instance, path, need_ids=np.arange(instance.n_needs) * 10 + 1000, product_ids=np.arange(6) + 70)
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1].split(",")[:2] == [str(1000 + 10 * instance.edge_need[0]), str(70 + instance.edge_product[0])]
    assert solve_milp(read_edges_csv(path)).objective == pytest.approx(solve_milp(instance).objective)


def test_inconsistent_lines_are_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(COLUMNS) + "\n1,1,0.5,100,0,2,1000,3,1.0\n1,2,0.5,999,0,2,1000,3,1.0\n")
    with pytest.raises(ValueError, match="amount differs"):
        read_edges_csv(path)
    path.write_text("need,product\n1,2\n")
    with pytest.raises(ValueError, match="expected the header"):
        read_edges_csv(path)
