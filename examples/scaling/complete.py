"""The sweep file limited to the tasks whose every configuration has finished and been scored.

For an experiment stopped before the end: `agentloop sweep` on the written file reuses those runs
from the store and computes nothing, so its tables, intervals and plots cover complete tasks only
(every configuration on the same tasks: paired comparisons stay paired).

    python examples/scaling/complete.py examples/scaling/sweep.yaml STORE.db complete.yaml
"""

import re
import sqlite3
import sys

import yaml

src, store, out = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src).read()
doc = yaml.safe_load(text)
configs = [c["name"] for c in doc["configs"]]
db = sqlite3.connect(store)
done = {}
for task, config in db.execute("SELECT s.task_name, s.config FROM sweep_runs s JOIN runs r ON r.id = s.run_id "
                               "WHERE s.hidden_json IS NOT NULL AND r.status IN ('solved', 'unsolved')"):
    done.setdefault(task, set()).add(config)
tasks = [t for t in doc["tasks"] if done.get(t, set()) >= set(configs)]
open(out, "w").write(re.sub(r"^tasks: \[.*\]$", "tasks: [" + ", ".join(tasks) + "]", text, flags=re.M))
print(f"{len(tasks)} of {len(doc['tasks'])} tasks complete; missing: {[t for t in doc['tasks'] if t not in tasks]}")
