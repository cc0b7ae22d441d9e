#!/bin/bash
# Run examples/scaling/sweep.yaml as N processes over disjoint task subsets sharing one store (each
# resumable: run this again after an interruption), then write the results of every finished task.
#   examples/scaling/parallel.sh [N=3] [STORE=scaling.db]
set -u
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-3}; store=${2:-scaling.db}; work=$(mktemp -d)
python - "$here/sweep.yaml" "$n" "$work" <<'PY'
import re, sys, yaml
src, n, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(src).read()
tasks = yaml.safe_load(text)["tasks"]
for part in range(n):
    subset = ", ".join(tasks[part::n])
    open(f"{work}/part{part}.yaml", "w").write(re.sub(r"^tasks: \[.*\]$", f"tasks: [{subset}]", text, flags=re.M))
PY
for part in $(seq 0 $((n - 1))); do
  agentloop sweep "$work/part$part.yaml" --out "$work/out$part" --store "$store" --quiet > "$work/part$part.log" 2>&1 &
done
wait
python "$here/complete.py" "$here/sweep.yaml" "$store" "$work/complete.yaml"
agentloop sweep "$work/complete.yaml" --out "$here/results" --store "$store" --quiet
