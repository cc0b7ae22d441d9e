"""evolve: the program database, cascade, edits, novelty, bandit, budget and resume, on scripted runs."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from helpers import assert_bad_input, cli_json, run_cli

import agentloop
from agentloop import Task
from agentloop.feedback import Feedback
from agentloop.store.graph import Turn
from agentloop.strategies.evolve_db import Island, Novelty, ProgramDatabase, apply_edits, cell_of, normalised_hash

EVALUATOR = "import json\nfrom solution import f\nprint(json.dumps({'score': f(), 'metrics': {'value': f() / 10}}))\n"
TESTS = "from solution import f\ndef test_int(): assert type(f()) is int\n"
SPY = textwrap.dedent('''\
    """A feedback kind that records each candidate it is asked to check (it runs in the trusted process)."""
    from pydantic import BaseModel, ConfigDict
    from agentloop.feedback import Feedback

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        log: str

    async def check(code, config, ctx):
        with open(config.log, "a", encoding="utf-8") as f:
            f.write(code.replace("\\n", "|") + "\\n")
        return Feedback(kind="spy", passed=True, score=1.0, summary="spied")
    ''')


def program(value: int | str) -> str:
    return f"def f():\n    return {value}\n"


def fenced(code: str) -> str:
    return f"```python\n{code}```"


def edit(search: str, replace: str) -> str:
    return f"```python\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```"


def evolve_task(make_task, tmp_path, script, *, spy: bool = False, models: dict | None = None, budget=None, **params):
    feedback = [{"kind": "compile"}, {"kind": "tests", "code": TESTS}]
    if spy:
        feedback.append({"kind": "spy", "log": str(tmp_path / "spy.log")})
    feedback.append({"kind": "score", "evaluator": EVALUATOR, "bounds": [0, 10]})
    extra = {"budget": budget} if budget else {}
    path = make_task(script, prompt="Write f() returning an int as large as you can, up to 10.", entry_point="f",
                     feedback=feedback, strategy={"name": "evolve", **params},
                     models=models or {"default": "scripted:script.yaml"}, **extra)
    if spy:
        (path.parent / "tools").mkdir()
        (path.parent / "tools" / "spy.py").write_text(SPY)
    return path


def spied(tmp_path) -> list[str]:
    log = tmp_path / "spy.log"
    return [line.replace("|", "\n") for line in log.read_text().splitlines()] if log.exists() else []


def run(path, tmp_path):
    return agentloop.run(Task.from_yaml(path), store=tmp_path / "s.db")


# --- the database, unit by unit -------------------------------------------------------------


def turn(seq: int, code: str, score: float, passed: bool = False) -> Turn:
    checks = (Feedback(kind="compile", passed=True, score=1.0, summary=""),
              Feedback(kind="score", passed=passed, score=score, summary="", details={"metrics": {"value": score}}))
    return Turn(id=f"t{seq}", seq=seq, parents=(), role="refiner", model="m", messages=(), prompt_hash="",
                output="", candidate=code, feedback=checks, score=score)


def test_cells_are_keyed_by_the_documented_features():
    t = turn(1, "x" * 450, 0.35)
    assert cell_of(t, ["checks", "length", "metric:value"], 4, 400, (0.0, 1.0)) == ("10", 1, 1)
    assert cell_of(t, ["metric:missing"], 4, 400, (0.0, 1.0)) == (-1,)
    assert cell_of(turn(2, "x" * 5000, 1.0), ["length", "metric:value"], 4, 400, (0.0, 1.0)) == (3, 3)


def test_a_cell_keeps_its_elite_until_a_better_or_equally_good_shorter_program_comes():
    isle = Island()
    assert isle.place(turn(1, "aaaa", 0.5), ("c",))
    assert not isle.place(turn(2, "bbbb", 0.4), ("c",))  # worse: the elite stays
    assert not isle.place(turn(3, "cccccc", 0.5), ("c",))  # as good but longer
    assert isle.place(turn(4, "dd", 0.5), ("c",))  # as good and shorter
    assert isle.place(turn(5, "eeeeeeee", 0.9), ("c",))  # better
    assert isle.place(turn(6, "f", 0.1), ("other",))  # another cell: both kept
    assert [t.id for t in isle.members()] == ["t5", "t6"]


def test_migration_offers_each_islands_best_to_the_next_in_a_ring():
    db = ProgramDatabase(3, lambda t: (t.candidate,))
    db.add(turn(1, "a", 0.9), 0)
    db.add(turn(2, "b", 0.2), 0)
    db.add(turn(3, "c", 0.5), 1)
    moved = db.migrate()
    assert moved == [(0, 1, "t1"), (1, 2, "t3")]  # island 2 was empty: nothing leaves it
    snap = db.snapshot()
    assert snap[1] == {"('a',)": "t1", "('c',)": "t3"} and snap[2] == {"('c',)": "t3"}
    assert "('a',)" not in snap[0] or snap[0]["('a',)"] == "t1"


def test_sampling_takes_the_best_parent_when_exploiting_and_the_best_other_as_inspiration():
    import random
    db = ProgramDatabase(1, lambda t: (t.candidate,))
    for i, s in enumerate([0.1, 0.7, 0.4], 1):
        db.add(turn(i, f"p{i}", s), 0)
    parent, others = db.sample(0, random.Random(0), exploitation=1.0, inspirations=2)
    assert parent.id == "t2" and [t.id for t in others][:1] == ["t3"] and len(others) == 2


def test_edits_apply_in_order_and_a_missing_search_text_is_failing_feedback():
    parent = "def f():\n    x = 1\n    return x\n"
    two = edit("    x = 1", "    x = 2") + "\n" + edit("    return x", "    return x * 3")
    code, failed = apply_edits(parent, two)
    assert failed is None and code == "def f():\n    x = 2\n    return x * 3\n"
    code, failed = apply_edits(parent, edit("    y = 1", "    y = 2"))
    assert code is None and failed.kind == "edit" and not failed.passed
    assert failed.summary.startswith("Edit 1 of 1 could not be applied: its SEARCH text does not occur")
    assert apply_edits(parent, fenced(program(3))) == (None, None)  # no blocks: a whole program


def test_normalised_hash_ignores_formatting_comments_and_docstrings_only():
    a = "def f():\n    return 1\n"
    b = 'def f( ):\n    """Doc."""\n    # why\n    return   1\n'
    assert normalised_hash(a, "python") == normalised_hash(b, "python")
    assert normalised_hash(a, "python") != normalised_hash(program(2), "python")
    novelty = Novelty(0.95, "python")
    novelty.add(turn(1, a, 0.1))
    assert novelty.rejection(b).details["same_as"] == "t1"
    assert novelty.rejection(program(2)) is None


# --- whole runs -----------------------------------------------------------------------------


def test_cascade_never_runs_an_expensive_check_on_a_child_failing_a_cheap_one(make_task, tmp_path):
    script = {"solver": [fenced(program(1)), fenced("def f(:\n")],
              "refiner": [fenced(program("'x'")), fenced(program(2))]}
    path = evolve_task(make_task, tmp_path, script, spy=True, initial=2, children=2, islands=1, exploitation=1.0)
    result = run(path, tmp_path)
    assert spied(tmp_path) == [program(1), program(2)]  # never the broken seed nor the str child
    broken = result.graph["t2"]
    assert [(f.kind, f.passed) for f in broken.feedback] == [("compile", False), ("tests", False), ("spy", False),
                                                             ("score", False)]
    assert all(f.details.get("not_run") == "cascade" for f in broken.feedback[1:])
    assert result.graph["t3"].feedback[-1].details.get("not_run") == "cascade"  # failed tests: no score run
    assert result.stop_reason == "max_children" and "return 2" in result.solution


def test_a_configured_cascade_groups_checks_into_stages(make_task, tmp_path):
    # one stage for compile, tests and the spy: all three run on the broken seed; the score waits for them
    script = {"solver": [fenced("def f(:\n")]}
    path = evolve_task(make_task, tmp_path, script, spy=True, initial=1, children=0, cascade=[[0, 1, 2]])
    seed = run(path, tmp_path).graph["t1"]
    assert spied(tmp_path) == ["def f(:\n"]
    assert [(f.kind, f.details.get("not_run")) for f in seed.feedback] == [
        ("compile", None), ("tests", None), ("spy", None), ("score", "cascade")]


def test_a_child_records_its_parent_and_inspirations_and_sees_them_in_its_prompt(make_task, tmp_path):
    script = {"solver": [fenced(program(1)), fenced(program(2))], "refiner": [edit("    return 2", "    return 7")]}
    path = evolve_task(make_task, tmp_path, script, initial=2, children=1, islands=1, exploitation=1.0,
                       features=["metric:value"], bins=10)  # 1 and 2 in different cells: both stay
    result = run(path, tmp_path)
    child = result.graph["t3"]
    assert child.parents == ("t2", "t1")  # the parent (the best) first, then the inspiration
    assert child.candidate == program(7) and result.graph.children("t1") == [child]
    prompt = child.messages[-1]["content"]
    assert "The program to improve:\n```python\n" + program(2) in prompt and program(1).strip() in prompt
    assert child.messages[0]["role"] == "system"  # a fresh context, not the parent's conversation


def test_a_failed_edit_is_the_childs_feedback_and_it_stays_out_of_the_database(make_task, tmp_path):
    script = {"solver": [fenced(program(1))],
              "refiner": [edit("    return 1", "    return 5"), edit("    return 1", "    return 6"),
                          edit("    return 5", "    return 8")]}
    path = evolve_task(make_task, tmp_path, script, initial=1, children=3, islands=1, exploitation=1.0)
    result = run(path, tmp_path)
    t2, t3, t4 = (result.graph[f"t{i}"] for i in (2, 3, 4))
    assert t2.candidate == program(5) and t2.parents == ("t1",)
    assert t3.parents == ("t2",) and t3.candidate is None and [f.kind for f in t3.feedback] == ["edit"]
    assert "Edit 1 of 1 could not be applied" in t3.feedback[0].summary and t3.score == 0.0
    assert t4.parents == ("t2",) and t4.candidate == program(8)  # the failed child was never a parent


LONG = "def f():\n    total = 0\n    for i in range(3):\n        total += i\n    return total + 1\n"


def test_identical_and_near_identical_children_are_rejected_before_their_checks(make_task, tmp_path):
    same = LONG.replace("    total = 0\n", "    total = 0  # start\n")
    near = LONG.replace("total + 1", "total + 2")
    script = {"solver": [fenced(LONG)], "refiner": [fenced(same), fenced(near), fenced(program(9))]}
    path = evolve_task(make_task, tmp_path, script, spy=True, initial=1, children=3, islands=1)
    result = run(path, tmp_path)
    assert spied(tmp_path) == [LONG, program(9)]  # the copies were never checked
    same_fb, near_fb = result.graph["t2"].feedback, result.graph["t3"].feedback
    assert [f.kind for f in same_fb] == ["novelty"] and same_fb[0].details == {"same_as": "t1", "similarity": 1.0}
    assert [f.kind for f in near_fb] == ["novelty"] and 0.95 <= near_fb[0].details["similarity"] < 1.0
    assert "nearly the same as t1's" in near_fb[0].summary


def test_the_bandit_tries_each_model_then_prefers_the_one_that_improves_per_token(make_task, tmp_path):
    script = {"solver": [fenced(program(1))]}
    path = evolve_task(make_task, tmp_path, script, initial=1, children=5, islands=1, exploitation=1.0, novelty=None,
                       exploration=0.1, models={"default": "scripted:script.yaml", "refiner": "scripted:flat.yaml",
                                                "refiner.good": "scripted:good.yaml"})
    (path.parent / "flat.yaml").write_text(yaml.safe_dump([fenced(program(0))] * 5))
    (path.parent / "good.yaml").write_text(yaml.safe_dump([fenced(program(v)) for v in (3, 4, 6, 7, 8)]))
    result = run(path, tmp_path)
    models = [t.model.rsplit("/", 1)[-1] for t in result.graph.turns() if t.role == "refiner"]
    assert models == ["flat.yaml", "good.yaml", "good.yaml", "good.yaml", "good.yaml"]
    assert result.solution == program(7)


def test_a_variant_alone_adds_to_the_roles_own_model(make_task, tmp_path):
    script = {"solver": [fenced(program(1))], "refiner": [fenced(program(2))]}
    path = evolve_task(make_task, tmp_path, script, initial=1, children=2, islands=1, novelty=None,
                       models={"default": "scripted:script.yaml", "refiner.other": "scripted:other.yaml"})
    (path.parent / "other.yaml").write_text(yaml.safe_dump([fenced(program(3))]))
    result = run(path, tmp_path)
    assert [t.model.rsplit("/", 1)[-1] for t in result.graph.turns()] == ["script.yaml", "script.yaml", "other.yaml"]


def test_the_runs_budget_bounds_the_search(make_task, tmp_path):
    script = {"solver": [fenced(program(1)), fenced(program(2))], "refiner": [fenced(program(v)) for v in range(3, 9)]}
    path = evolve_task(make_task, tmp_path, script, budget={"max_turns": 4}, initial=2, children=10)
    result = run(path, tmp_path)
    assert result.turns == 4 and result.stop_reason == "budget:max_turns" and result.status == "unsolved"


def test_a_child_reaching_the_target_solves_the_run(make_task, tmp_path):
    script = {"solver": [fenced(program(1))], "refiner": [fenced(program(10)), fenced(program(2))]}
    result = run(evolve_task(make_task, tmp_path, script, initial=1, children=5), tmp_path)
    assert result.status == "solved" and result.turns == 2 and result.score == 1.0


def test_resume_continues_the_same_population(make_task, tmp_path):
    children = [edit("    return 1", "    return 3"), fenced(program(2)), fenced(program(5)), fenced(program(4)),
                edit("    return 5", "    return 6"), fenced(LONG), fenced(program(7)), fenced(program(6))]
    script = {"solver": [fenced(program(1)), fenced(program(0)), fenced(program("'x'"))], "refiner": children}
    params = {"initial": 3, "children": 8, "batch": 2, "islands": 2, "migration_interval": 2, "inspirations": 1}
    whole = evolve_task(make_task, tmp_path, script, **params)
    reference = cli_json(run_cli("run", str(whole), "--json", cwd=tmp_path))
    cut = evolve_task(make_task, tmp_path, {**script, "refiner": children[:3]}, **params)
    first = run_cli("run", str(cut), "--json", cwd=tmp_path)
    assert first.returncode == 3 and cli_json(first)["status"] == "error"  # the script ran out mid-search
    (cut.parent / "script.yaml").write_text(yaml.safe_dump(script, sort_keys=False))
    resumed = run_cli("resume", cli_json(first)["run_id"], "--json", cwd=tmp_path)
    assert resumed.returncode == (0 if reference["status"] == "solved" else 1), resumed.stderr

    def shape(run_id):
        turns = cli_json(run_cli("show", run_id, "--json", cwd=tmp_path))["turns"]
        return [(t["role"], t["parents"], t["candidate"], t["score"]) for t in turns]
    assert shape(cli_json(resumed)["run_id"]) == shape(reference["run_id"])
    assert len(shape(reference["run_id"])) == 11


@pytest.mark.parametrize(("params", "field"), [
    ({"cascade": [[0, 7]]}, "strategy.cascade"),
    ({"cascade": [[0], [0, 1]]}, "strategy.cascade"),
    ({"features": ["colour"]}, "strategy.features"),
    ({"islandz": 2}, "strategy.islandz"),
])
def test_bad_parameters_are_bad_input_naming_the_field(make_task, tmp_path, params, field):
    path = evolve_task(make_task, tmp_path, {"solver": []}, **params)
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "task.yaml", field)


def test_show_json_keeps_the_score_of_every_child(make_task, tmp_path):
    script = {"solver": [fenced(program(1))], "refiner": [fenced(program(4))]}
    path = evolve_task(make_task, tmp_path, script, initial=1, children=1)
    out = cli_json(run_cli("run", str(path), "--json", cwd=tmp_path))
    turns = cli_json(run_cli("show", out["run_id"], "--json", cwd=tmp_path))["turns"]
    assert [json.dumps(t["feedback"][-1]["details"]["objective"]) for t in turns] == ["1.0", "4.0"]


def test_model_variants_are_only_for_known_roles_and_stay_in_the_task_folder(make_task, tmp_path):
    path = evolve_task(make_task, tmp_path, {"solver": []}, models={"default": "scripted:script.yaml",
                                                                    "refinr.big": "scripted:script.yaml"})
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "models", "unknown role 'refinr.big'")
    path = evolve_task(make_task, tmp_path, {"solver": []}, models={"default": "scripted:script.yaml",
                                                                    "refiner.big": "scripted:../x.yaml"})
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "models.refiner.big", "outside the task folder")


@pytest.mark.parametrize(("interval", "parent"), [(1, "t3"), (100, "t2")])
def test_migration_brings_one_islands_best_to_the_next_as_a_parent(make_task, tmp_path, interval, parent):
    # seeds: t1 on island 0, t2 on island 1; t3 is bred on island 0, then island 1 breeds
    script = {"solver": [fenced(program(1)), fenced(program(2))], "refiner": [fenced(program(5)), fenced(program(6))]}
    path = evolve_task(make_task, tmp_path, script, initial=2, children=2, islands=2, migration_interval=interval,
                       exploitation=1.0, inspirations=0)
    result = run(path, tmp_path)
    assert result.graph["t3"].parents == ("t1",) and result.graph["t4"].parents == (parent,)


def test_a_failed_edit_is_shown_to_later_children_of_its_parent_and_island_bounded(make_task, tmp_path):
    script = {"solver": [fenced(program(1))],
              "refiner": [edit("    return 9", "    return 5"), edit("    return 8", "    return 6"),
                          fenced(program(3)), fenced(program(4))]}
    path = evolve_task(make_task, tmp_path, script, initial=1, children=4, islands=1, exploitation=1.0,
                       failed_edits=1)
    result = run(path, tmp_path)
    prompts = [result.graph[f"t{i}"].messages[-1]["content"] for i in (2, 3, 4, 5)]
    assert "did not apply" not in prompts[0]  # nothing failed before the first child
    assert "- t2, an edit of t1 (the program above): Edit 1 of 1 could not be applied" in prompts[1]
    assert "    return 9" in prompts[1]
    # at most failed_edits (1) of them: the newest failure only
    assert "- t3, an edit of t1" in prompts[2] and "- t2," not in prompts[2] and "    return 9" not in prompts[2]
    assert "- t3, an edit of t1 (the program above)" not in prompts[3]  # t4 (return 3) is t5's parent now
    assert "- t3, an edit of t1:" in prompts[3]  # still the island's failure


def test_cascade_thresholds_let_a_good_enough_child_through_and_stop_a_poor_one(make_task, tmp_path):
    # stages: compile + tests, then the score (cheap here), then the spy standing for an expensive check
    script = {"solver": [fenced(program(1))], "refiner": [fenced(program(3)), fenced(program(6))]}
    path = evolve_task(make_task, tmp_path, script, spy=True, initial=1, children=2, islands=1,
                       cascade=[[0, 1], [3], [2]], cascade_thresholds=[None, 0.5])
    result = run(path, tmp_path)
    assert spied(tmp_path) == [program(6)]  # 0.1 and 0.3 are below 0.5: the expensive check never ran on them
    spy = {t.id: next(f for f in t.feedback if f.kind == "spy") for t in result.graph.turns()}
    assert [spy[t].details.get("not_run") for t in ("t1", "t2", "t3")] == ["cascade", "cascade", None]
    score = next(f for f in result.graph["t3"].feedback if f.kind == "score")
    assert not score.passed and score.score == 0.6  # it missed the target, yet cleared the threshold


def test_too_many_cascade_thresholds_are_bad_input(make_task, tmp_path):
    path = evolve_task(make_task, tmp_path, {"solver": []}, cascade=[[0, 1], [2]], cascade_thresholds=[0.5, 0.5])
    assert_bad_input(run_cli("run", str(path), cwd=tmp_path), "task.yaml", "strategy.cascade_thresholds")


def test_run_json_carries_the_objective_best_score_and_whether_the_target_was_reached(make_task, tmp_path):
    script = {"solver": [fenced(program(2))], "refiner": [fenced(program(7)), fenced(program("'x'"))]}
    path = evolve_task(make_task, tmp_path, script, initial=1, children=2, islands=1, exploitation=1.0)
    out = cli_json(run_cli("run", str(path), "--json", cwd=tmp_path))
    assert out["objective"] == {"best": 7.0, "best_score": 0.7, "turn": "t2", "submitted": 7.0,
                                "submitted_score": 0.7, "target": 10.0, "direction": "maximize", "reached": False}
    assert cli_json(run_cli("show", out["run_id"], "--json", cwd=tmp_path))["objective"] == out["objective"]
    script = {"solver": [fenced(program(1))], "refiner": [fenced(program(10))]}
    out = cli_json(run_cli("run", str(evolve_task(make_task, tmp_path, script, initial=1, children=3)), "--json",
                       cwd=tmp_path))
    assert out["status"] == "solved" and out["objective"]["reached"] and out["objective"]["best"] == 10.0
    plain = make_task({"solver": [fenced(program(1))]}, feedback=[{"kind": "compile"}])
    assert cli_json(run_cli("run", str(plain), "--json", cwd=tmp_path))["objective"] is None


def test_a_sweep_compares_evolve_with_a_model_bandit_against_sampling_on_a_scored_task(tmp_path):
    from agentloop.sweep.report import read_results
    (tmp_path / "suite").mkdir()
    task = {"name": "big-f", "prompt": "Write f() returning an int as large as you can, up to 10.", "entry_point": "f",
            "feedback": [{"kind": "compile"}, {"kind": "score", "evaluator": EVALUATOR, "bounds": [0, 10]}]}
    (tmp_path / "suite" / "f.yaml").write_text(yaml.safe_dump(task))
    replies = {"seeds": {"solver": [fenced(program(2)), fenced(program(1))],
                         "refiner": [fenced(program(v)) for v in (7, 9, 3)]},
               "alt": [fenced(program(v)) for v in (4, 8, 6)],
               "sample": {"solver": [fenced(program(v)) for v in (3, 1, 5, 2)]}}
    for name, script in replies.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(script))
    sweep = {"suite": "suite", "seeds": [0], "budget": {"max_tokens": 100000},
             "configs": [{"name": "evolve", "strategy": {"name": "evolve", "initial": 2, "children": 3, "islands": 1},
                          "models": {"default": "scripted:seeds.yaml", "refiner.alt": "scripted:alt.yaml"}},
                         {"name": "sample", "strategy": {"name": "best_of_n", "n": 4},
                          "models": {"default": "scripted:sample.yaml"}}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    proc = run_cli("sweep", "sweep.yaml", "--out", "out", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = {r.config: r for r in read_results(tmp_path / "out").runs}
    # evolve: seeds 2 and 1; the refiner's own model makes 7, the variant 4, the bandit goes back to the
    # model that improved and gets 9
    assert (runs["evolve"].objective_score, runs["sample"].objective_score) == (0.9, 0.5)
    assert runs["evolve"].reached is False and runs["evolve"].candidates == 5
    summary = (tmp_path / "out" / "summary.md").read_text()
    section = summary.split("## Scored objective", 1)[1]
    assert "| evolve | 1 | 0.9" in section and "| sample | 1 | 0.5" in section
    assert "-0.4" in section.split("| sample |", 1)[1].split("\n", 1)[0]  # the paired difference, vs evolve
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ["objective.png"]  # no hidden tests: no flat pass-rate plots
