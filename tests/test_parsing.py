"""Extracting candidate code from model replies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop.core.parsing import MAX_CODE_CHARS, extract_code, fenced_blocks


def test_fenced_python_block_is_extracted():
    reply = "Sure!\n```python\ndef f(x):\n    return x\n```\nHope this helps."
    assert extract_code(reply, "python", "f") == "def f(x):\n    return x\n"


def test_block_defining_the_entry_point_beats_a_longer_one():
    reply = ("```python\n# usage example that is much longer than the solution itself\nprint(f(1))\nprint(f(2))\n```\n"
             "```python\ndef f(x):\n    return 1\n```")
    assert extract_code(reply, "python", "f") == "def f(x):\n    return 1\n"


def test_unclosed_fence_runs_to_the_end():
    assert extract_code("```python\ndef f():\n    return 2", "python", "f") == "def f():\n    return 2\n"


def test_unfenced_reply_is_taken_only_if_it_is_python():
    assert extract_code("def f(): return 2", "python", "f") == "def f(): return 2\n"
    assert extract_code("I cannot help with that.", "python", "f") is None
    assert extract_code("", "python") is None


def test_blocks_of_another_language_are_ignored():
    reply = "```bash\npip install x\n```\n```c\nint add(int a, int b) { return a + b; }\n```"
    assert extract_code(reply, "c", "add") == "int add(int a, int b) { return a + b; }\n"
    assert extract_code("```bash\nls\n```", "python") is None


def test_code_is_bounded():
    huge = "```python\n" + "x = 1\n" * 50_000 + "```"
    assert len(extract_code(huge, "python")) <= MAX_CODE_CHARS + 1


code_lines = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8} = [0-9]{1,4}", fullmatch=True), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(lines=code_lines, before=st.text(alphabet="abc .,!\n", max_size=40), after=st.text(alphabet="abc .,!\n", max_size=40))
def test_any_fenced_body_survives_surrounding_prose(lines, before, after):
    body = "\n".join(lines) + "\n"
    reply = f"{before}\n```python\n{body}```\n{after}"
    assert extract_code(reply, "python") == body


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_raises_on_arbitrary_text(text):
    extract_code(text, "python", "f")
    extract_code(text, "c", "f")
    assert isinstance(fenced_blocks(text), list)
