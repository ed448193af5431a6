"""Benchmark of the matching solver: `python -m bench.match [--size 0 1 2] [--repeat 3] [--regime loose tight]`.

For each size (needs × products × edges per need) and quota regime it prints, in one run:
- ours: graph build + solve + extraction seconds (median of --repeat), peak RSS of the process that solved
  (a forked child, so sizes do not inherit each other's peak), objective, upper bound, gap, flow solves;
- bare: one OR-Tools min-cost flow solve on the same network (arcs prebuilt, quotas ignored), and our
  time divided by it;
- greedy: the baseline's objective and seconds;
- networkx: the reference's objective and seconds, at sizes up to --networkx-max-needs needs only (it is the
  count-only optimum: equal to ours when no quota binds, an upper bound otherwise);
then a markdown table of the above, with the load average at the start and the end of the run.
"""

import argparse
import multiprocessing
import os
import resource
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.instances import SIZES, generate
from matchmaker.flow import build_network, solve_flow
from matchmaker.greedy import solve_greedy
from matchmaker.instance import MatchingInstance, MatchingResult, violations
from matchmaker.reference_solver import solve_networkx
from matchmaker.solver import solve


def _solve_in_child(instance: MatchingInstance, time_limit: float | None, pipe) -> None:
    result = solve(instance, time_limit=time_limit)
    pipe.send((result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    pipe.close()


def solve_measured(instance: MatchingInstance, time_limit: float | None) -> tuple[MatchingResult, float]:
    """(result, peak RSS in MB) of one solve in a forked child process."""
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_solve_in_child, args=(instance, time_limit, send))
    child.start()
    outcome = receive.recv()
    child.join()
    return outcome


def bare_flow_seconds(instance: MatchingInstance) -> float:
    network = build_network(instance)
    start = time.perf_counter()
    solve_flow(network, instance.edge_weight)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, nargs="+", default=range(len(SIZES)), help="indices into SIZES")
    parser.add_argument("--regime", nargs="+", default=["loose", "tight"], choices=["loose", "tight"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None, help="passed to solve(); default none")
    parser.add_argument("--networkx-max-needs", type=int, default=1_000)
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, cpus={os.cpu_count()}, repeat={args.repeat}")
    print(f"load average at start: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    table = ["| size | quotas | ours s | bare s | ours/bare | gap | solves | greedy (under bound) | peak RSS MB |"]
    table.append("|---|---|---|---|---|---|---|---|---|")
    for index in args.size:
        size = SIZES[index]
        for regime in args.regime:
            instance = generate(size, seed=args.seed, tight=regime == "tight")
            print(f"\n== {size.label} ({instance.n_edges:,} edges), {regime} quotas ==")
            runs = [solve_measured(instance, args.time_limit) for _ in range(args.repeat)]
            result = runs[0][0]
            ours = statistics.median(run.seconds for run, _ in runs)
            bare = statistics.median(bare_flow_seconds(instance) for _ in range(args.repeat))
            broken = violations(instance, result.chosen)
            peak = max(rss for _, rss in runs)
            print(
                f"ours     {ours:7.2f} s  peak RSS {peak:6.0f} MB  objective {result.objective:,.3f}"
                f"  upper bound {result.upper_bound:,.3f}  gap {result.gap:.4%}  flow solves {result.iterations}"
                f"  violations {len(broken)}"
            )
            print(f"bare     {bare:7.2f} s  (one OR-Tools min-cost flow, quotas ignored)  ours/bare {ours / bare:.2f}")
            greedy = solve_greedy(instance)
            shortfall = 1 - greedy.objective / result.upper_bound if result.upper_bound else 0.0
            print(
                f"greedy   {greedy.seconds:7.2f} s  objective {greedy.objective:,.3f}"
                f"  ({shortfall:.2%} under our upper bound)  violations {len(violations(instance, greedy.chosen))}"
            )
            table.append(
                f"| {size.label} | {regime} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f} | {result.gap:.3%}"
                f" | {result.iterations} | {greedy.seconds:.2f} s ({shortfall:.2%}) | {peak:.0f} |"
            )
            if size.needs <= args.networkx_max_needs:
                reference = solve_networkx(instance)
                print(
                    f"networkx {reference.seconds:7.2f} s  objective {reference.objective:,.3f}"
                    " (count constraints only)"
                    f"  quota violations {len(violations(instance, reference.chosen))}"
                )
    print(f"\nload average at end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print("\n".join(table))


if __name__ == "__main__":
    main()
