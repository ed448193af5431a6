"""Matching rounds. The solver core is pure numpy/OR-Tools: ``instance`` (the arrays of a round, the result,
the constraint checker), ``flow`` (the min-cost flow network), ``solver`` (Lagrangian relaxation of the amount
quotas), ``greedy`` (completion heuristic and baseline), ``reference_solver`` (networkx and MILP references for
tests and the benchmark) and ``edges_csv`` (export and re-solve of a round's candidate edges)."""
