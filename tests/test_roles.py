"""How a turn's messages are assembled: continuing a conversation, trimming it, fresh contexts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Turn
from agentloop.engine.roles import HISTORY_CHARS, conversation


def turn(seq: int, messages: list[dict], output: str) -> Turn:
    return Turn(id=f"t{seq}", seq=seq, parents=(), role="critic", model="scripted:x", messages=tuple(messages),
                prompt_hash="h", output=output)


NEW = [{"role": "user", "content": "next"}]


def test_continues_from_the_latest_parent():
    a = turn(1, [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}], "code")
    b = turn(2, [*a.messages, {"role": "assistant", "content": "code"}, {"role": "user", "content": "review"}], "crit")
    assert conversation([a, b], NEW) == [*b.messages, {"role": "assistant", "content": "crit"}, *NEW]
    assert conversation([], NEW) == NEW
    fresh = [{"role": "system", "content": "fresh"}, {"role": "user", "content": "x"}]
    assert conversation([a, b], fresh) == fresh


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=12), st.integers(1, 1000))
def test_long_histories_are_trimmed_in_pairs_keeping_the_task(sizes, last):
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]
    for i, size in enumerate(sizes):
        messages.append({"role": "assistant", "content": "a" * size})
        messages.append({"role": "user", "content": f"u{i}"})
    out = conversation([turn(9, messages, "last reply " * last)], NEW)
    assert out[:2] == messages[:2]  # the task always stays
    roles = [m["role"] for m in out]
    assert roles[0] == "system" and all(r1 != r2 for r1, r2 in zip(roles[1:], roles[2:]))  # still alternating
    assert out[-2:] == [{"role": "assistant", "content": "last reply " * last}, *NEW]  # never trimmed away
    total = sum(len(m["content"]) for m in out)
    assert total <= HISTORY_CHARS or len(out) == 4  # within budget unless only the essentials are left


def test_a_long_refine_cuts_its_history_rarely_so_prompts_keep_extending_each_other():
    # every cut re-evaluates the whole prompt after the task; cutting one pair per turn would do it every turn
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "task"}]
    last = turn(1, messages, "x" * 1500)
    cuts = 0
    for seq in range(2, 22):
        new = conversation([last], [{"role": "user", "content": "review " * 100}])
        previous = [*last.messages, {"role": "assistant", "content": last.output}]
        cuts += new[:len(previous)] != previous
        assert sum(len(m["content"]) for m in new) <= HISTORY_CHARS + 1500
        last = turn(seq, new, "y" * 1500)
    assert 0 < cuts <= 6, f"{cuts} of 20 turns cut the history"
