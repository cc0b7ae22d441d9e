"""``agentloop.checks`` is the API feedback kinds are written against; ``agentloop.feedback``, its
older name, still serves tools written against it."""

from __future__ import annotations

import textwrap

from helpers import BAD_FIZZ, GOOD_FIZZ, cli_json, run_cli

# a user's tool written before agentloop.checks existed: it imports from agentloop.feedback
LEGACY_TOOL = textwrap.dedent('''\
    from pydantic import BaseModel, ConfigDict

    from agentloop.feedback import CheckContext, Feedback, trim


    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        word: str


    async def check(code: str, config: Config, ctx: CheckContext) -> Feedback:
        found = config.word in code
        return Feedback(kind="legacy", passed=found, score=float(found),
                        summary=trim(f"{config.word!r} {'found' if found else 'missing'} in {ctx.task.name}"))
    ''')


def _legacy_task(make_task, word: str, reply: str):
    path = make_task({"solver": [reply]}, feedback=[{"kind": "legacy", "word": word}], budget={"max_turns": 1})
    (path.parent / "tools").mkdir()
    (path.parent / "tools" / "legacy.py").write_text(LEGACY_TOOL)
    return path


def test_a_tool_importing_agentloop_feedback_still_loads_and_decides_the_run(make_task, tmp_path):
    passing = run_cli("run", str(_legacy_task(make_task, "FizzBuzz", GOOD_FIZZ)), "--json", cwd=tmp_path)
    assert passing.returncode == 0, passing.stderr
    assert cli_json(passing)["status"] == "solved"
    [fb] = cli_json(run_cli("show", "latest", "--json", cwd=tmp_path))["turns"][0]["feedback"]
    assert (fb["kind"], fb["passed"], fb["summary"]) == ("legacy", True, "'FizzBuzz' found in fizzbuzz")

    # the same tool's failing verdict counts as any kind's does: the run is not solved
    failing = run_cli("run", str(_legacy_task(make_task, "FizzBuzz", BAD_FIZZ)), "--json", cwd=tmp_path)
    assert cli_json(failing)["status"] == "unsolved"
    [fb] = cli_json(run_cli("show", "latest", "--json", cwd=tmp_path))["turns"][0]["feedback"]
    assert (fb["passed"], fb["summary"]) == (False, "'FizzBuzz' missing in fizzbuzz")


def test_both_names_hand_out_the_same_objects():
    """A tool's ``Feedback`` from either name is the one the runner checks against (isinstance, dataclass equality)."""
    import agentloop.checks as checks
    import agentloop.feedback as feedback

    assert set(feedback.__all__) == set(checks.__all__)
    assert all(getattr(feedback, name) is getattr(checks, name) for name in checks.__all__)
