"""``refine``: solve → feedback → critique → refine, until every check passes or ``max_turns``.

Self-Refine (Madaan et al. 2023) with tool-grounded critique as in CRITIC (Gou et al. 2023) and
Self-Debug (Chen et al. 2023): the critic reads the code and the real feedback, the refiner
writes the next candidate. Each round refines the best candidate so far, so one bad
refinement does not drag the rest of the run down with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from ..core.parsing import extract_code

if TYPE_CHECKING:
    from ..engine.context import RunContext


class Params(BaseModel):
    """Parameters of ``refine``.

    - ``max_turns``: how many candidates at most (the first solution plus refinements);
    - ``critic``: whether a critic turn comes between feedback and refinement;
    - ``reject_repeats``: a refinement identical to an earlier failed candidate is rejected
      without re-running its checks, and told so (Feedback Friction, Jiang et al. 2025);
    - ``temperature_step``: each refinement samples this much hotter, up to ``max_temperature``;
    - ``fresh_refiner``: the refiner sees only the task, the code and its latest feedback
      (``prompts/refiner_fresh.j2``) instead of continuing the conversation;
    - ``tester``: a tester turn first writes extra tests; every candidate also runs them, and the
      results reach the critic and refiner labelled as model-written and advisory — they never
      count towards passing.
    """

    model_config = ConfigDict(extra="forbid")

    max_turns: int = Field(default=4, ge=1, le=1000)
    critic: bool = True
    reject_repeats: bool = False
    temperature_step: float = Field(default=0.0, ge=0.0, le=1.0)
    max_temperature: float = Field(default=1.2, ge=0.0, le=2.0)
    fresh_refiner: bool = False
    tester: bool = False


async def run(run: RunContext, params: Params) -> str:
    """Run the loop; returns the stop reason (``solved`` or ``max_turns``)."""
    extra = None
    if params.tester:
        written = await run.turn("tester", parents=[])
        extra = extract_code(written.output, "python") if run.task.language == "python" else None
    best = await run.turn("solver", parents=[], advisory_tests=extra)
    for round_ in range(1, params.max_turns):
        if best.passed:
            break
        parents = [best]
        if params.critic:
            parents.append(await run.turn("critic", parents=[best]))
        temperature = None
        if params.temperature_step:
            base = run.task.sampling.get("refiner")
            start = base.temperature if base and base.temperature is not None else 0.2
            temperature = min(params.max_temperature, start + round_ * params.temperature_step)
        await run.turn("refiner", parents=parents, temperature=temperature, reject_repeats=params.reject_repeats,
                       template="refiner_fresh" if params.fresh_refiner else None, advisory_tests=extra)
        best = run.graph.best() or best  # never None: the graph holds at least the solver's turn
    return "solved" if best.passed else "max_turns"
