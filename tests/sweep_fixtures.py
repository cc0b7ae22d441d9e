"""A tiny scripted suite for the sweep tests: two tasks, per-seed scripts, known hidden verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml


def code(body: str) -> str:
    """A reply holding one fenced Python block."""
    return f"```python\n{body}\n```"


GOOD_DOUBLE = code("def double(x):\n    return 2 * x")
WRONG_DOUBLE = code("def double(x):\n    return x + 2")    # fails the visible test and the hidden one
SNEAKY_DOUBLE = code("def double(x):\n    return x + 1")   # passes the visible test, fails the hidden one
GOOD_NEG = code("def neg(x):\n    return -x")
BAD_NEG = code("def neg(x):\n    return x")                # compiles (the only visible check), fails hidden

TASKS = [
    {"name": "double", "prompt": "Write double(x) returning 2*x.", "entry_point": "double",
     "feedback": [{"kind": "compile"}, {"kind": "tests", "code": "from solution import double\n"
                                                                  "def test_one(): assert double(1) == 2\n"}],
     "hidden_tests": "from solution import double\ndef test_hidden_double(): assert double(5) == 10\n"},
    {"name": "neg", "prompt": "Write neg(x) returning -x.", "entry_point": "neg", "feedback": [{"kind": "compile"}],
     "hidden_tests": "from solution import neg\ndef test_hidden_neg(): assert neg(3) == -3\n"},
]

# configuration -> task -> one script per seed (0, 1, 2)
SCRIPTS = {
    "single": {"double": [{"solver": [GOOD_DOUBLE]}, {"solver": [SNEAKY_DOUBLE]}, {"solver": [GOOD_DOUBLE]}],
               "neg": [{"solver": [BAD_NEG]}, {"solver": [BAD_NEG]}, {"solver": [GOOD_NEG]}]},
    "refine2": {"double": [{"solver": [WRONG_DOUBLE], "refiner": [GOOD_DOUBLE]},
                           {"solver": [WRONG_DOUBLE], "refiner": [SNEAKY_DOUBLE]},
                           {"solver": [GOOD_DOUBLE]}],
                # seed 0: a reply without code (a candidate that fails everything), then a wrong refinement
                "neg": [{"solver": ["I cannot write code."], "refiner": [BAD_NEG]}, {"solver": [GOOD_NEG]},
                        {"solver": [BAD_NEG]}]},
}


def sweep_doc(configs: list[str] | None = None, **top) -> dict:
    """A sweep file over the suite; ``configs`` picks among single and refine2."""
    spec = {"single": {"name": "single", "strategy": {"name": "refine", "max_turns": 1, "critic": False},
                       "models": {"default": "scripted:scripts/single-{task}-{seed}.yaml"}},
            "refine2": {"name": "refine2", "strategy": {"name": "refine", "max_turns": 2, "critic": False},
                        "models": {"default": "scripted:scripts/refine2-{task}-{seed}.yaml"}}}
    doc = {"suite": "suite/tasks.jsonl", "seeds": [0, 1, 2], "budget": {"max_tokens": 4000},
           "configs": [spec[c] for c in (configs or ["single", "refine2"])]}
    doc.update(top)
    return doc


def write_experiment(folder: Path, name: str = "sweep.yaml", **kwargs) -> Path:
    """The suite, the scripts and a sweep file in ``folder``; returns the sweep file."""
    (folder / "suite").mkdir(parents=True, exist_ok=True)
    (folder / "scripts").mkdir(exist_ok=True)
    (folder / "suite" / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    for config, tasks in SCRIPTS.items():
        for task, seeds in tasks.items():
            for seed, script in enumerate(seeds):
                (folder / "scripts" / f"{config}-{task}-{seed}.yaml").write_text(yaml.safe_dump(script))
    path = folder / name
    path.write_text(yaml.safe_dump(sweep_doc(**kwargs), sort_keys=False))
    return path
