"""Best score so far of an evolve run, against tokens spent: ``python plot_best.py RUN_ID OUT.png [--store DB]``.

Reads the run with ``agentloop show RUN_ID --json`` (data, not prose): every candidate's ``score``
check gives its raw objective (``details.objective``); a candidate without one (a failed edit, a
rejected copy, a cascade that skipped the evaluator) counts as no improvement. Dots are the
candidates, the step line the best so far, the dashed line the task's target. Made with
matplotlib's Agg backend, as ``agentloop plot`` draws.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def points(run: dict) -> tuple[list[tuple[int, float | None, str]], float | None]:
    """Per candidate turn: tokens spent so far, its objective (None: not scored), its id; and the target."""
    spent, out, target = 0, [], None
    for turn in run["turns"]:
        spent += turn["usage"]["prompt"] + turn["usage"]["completion"]
        if turn["score"] is None:  # not a candidate
            continue
        scored = [f for f in turn["feedback"] if f["kind"] == "score" and "objective" in f["details"]]
        target = scored[0]["details"].get("target", target) if scored else target
        out.append((spent, scored[0]["details"]["objective"] if scored else None, turn["id"]))
    return out, target


def main() -> None:
    """Draw the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_id")
    parser.add_argument("out")
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "agentloop.cli", "show", args.run_id, "--json"] + (["--store", args.store] if args.store else [])
    run = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout)
    pts, target = points(run)
    if not pts:
        sys.exit(f"run {args.run_id} has no candidates")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    best, xs, ys = None, [], []
    for tokens, value, _ in pts:
        if value is not None and (best is None or value > best):
            best = value
        if best is not None:
            xs.append(tokens)
            ys.append(best)
    scored = [(t, v) for t, v, _ in pts if v is not None]
    ax.scatter([t for t, _ in scored], [v for _, v in scored], s=14, alpha=0.5, label="a candidate's score")
    unscored = [t for t, v, _ in pts if v is None]
    if unscored:
        ax.scatter(unscored, [0] * len(unscored), marker="x", s=14, alpha=0.5, color="grey",
                   label="no score (failed edit, copy, or a cheaper check failed)")
    ax.step(xs, ys, where="post", lw=2, label="best so far")
    if target is not None:
        ax.axhline(target, ls="--", color="black", lw=1, label=f"target {target:g}")
    model = run["turns"][0]["model"] if run["turns"] else "?"
    ax.set_title(f"evolve, {run['task']}: best score against tokens\n{len(pts)} candidates · {model}", fontsize=10)
    ax.set_xlabel("tokens spent (prompt + completion)")
    ax.set_ylabel("score (the evaluator's objective)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
