"""``scripted:FILE.yaml``: replays fixed replies, for tests, demos and offline runs (SPEC §4).

The file is a list of replies consumed in call order by every role, or a mapping from role to
its own list. A reply is a string, or a mapping ``{text, logprobs, top_logprobs}`` that also
carries the token log-probabilities a real model would have reported (``logprobs``: one number
per token; ``top_logprobs``, optional: a list of the top-k numbers per token), so runs that use
token confidence can be scripted too. With ``Request.stop_below`` (DeepConf's online early stop) a
reply with ``top_logprobs`` is cut at its first token whose last ``confidence.WINDOW`` token
confidences average below the threshold, as a real generation would be: its text is cut at the
same fraction of its characters (token k of n keeps the first round(k/n) of the text: a script
has no tokenizer), its measures are those of the first k tokens, and the Completion's ``stopped``
says where. A role that runs out raises ``ScriptExhaustedError`` naming the role: the run ends
with status ``error``, never a hang. Usage is estimated at four characters a token, so budgets
behave the same on every machine.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache
from pathlib import Path

from ..core.confidence import Confidence, EarlyStop, first_low_group, from_top_logprobs, token_confidence
from ..core.yamlfile import MAX_BYTES, load_yaml_file, load_yaml_text
from ..errors import ModelURIError, ScriptExhaustedError, TaskFileError
from ..task import ROLES
from .base import Completion, Request, Usage, approx_tokens

_SHARED = "*"  # the queue every role draws from when the file is a plain list


def load_script(path: Path) -> dict[str, list[str | dict]]:
    """Read and validate a scripted-model file into role queues (fresh lists: the caller consumes them)."""
    text = _readable_text(path)
    queues = _parse(path, text) if text is not None else _parse.__wrapped__(path, None)
    return {role: list(replies) for role, replies in queues.items()}


def _readable_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8") if path.stat().st_size <= MAX_BYTES else None
    except (OSError, UnicodeDecodeError):
        return None  # load_yaml_file names the problem


@lru_cache(maxsize=16)
def _parse(path: Path, text: str | None) -> dict[str, tuple[str | dict, ...]]:
    # keyed by the file's text: a run validates its script and then loads it, and a sweep or a
    # benchmark starts many runs from one file, while the YAML parse (pure Python, to keep line
    # numbers) would be a third of a 10-round scripted refine run's CPU (bench/p1_runtime_cpu.py)
    try:
        doc = load_yaml_file(path) if text is None else load_yaml_text(text, str(path))
    except TaskFileError as exc:
        raise ModelURIError(str(exc)) from None
    data = doc.data
    if isinstance(data, list):
        queues = {_SHARED: data}
    elif isinstance(data, dict):
        for role in data:
            if role not in ROLES:
                raise ModelURIError(f"{path}:{doc.line_of((role,))}: {role}: unknown role (expected one of {', '.join(ROLES)})")
        queues = data
    else:
        raise ModelURIError(f"{path}: a scripted-model file is a list of replies or a mapping of role to replies")
    for role, replies in queues.items():
        _check_replies(role, replies, str(path))
    return {role: tuple(replies) for role, replies in queues.items()}


def _check_replies(role: str, replies: object, where: str) -> None:
    """Replies are a list of strings or ``{text, logprobs, top_logprobs}`` mappings; ModelURIError otherwise."""
    prefix = f"{where}: " if where else ""
    prefix += "" if role == _SHARED else f"{role}: "
    if not isinstance(replies, list):
        raise ModelURIError(f"{prefix}replies must be a list of strings")
    for i, reply in enumerate(replies):
        if isinstance(reply, str):
            continue
        if not isinstance(reply, dict) or not isinstance(reply.get("text"), str):
            raise ModelURIError(f"{prefix}replies must be a list of strings (reply {i + 1} is not)")
        problem = _logprob_problem(reply)
        if problem:
            raise ModelURIError(f"{prefix}reply {i + 1}: {problem}")


def _numbers(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x <= 0
                                           for x in value)


def _logprob_problem(reply: dict) -> str | None:
    unknown = set(reply) - {"text", "logprobs", "top_logprobs"}
    if unknown:
        return f"unknown key {sorted(unknown)[0]!r} (expected text, logprobs, top_logprobs)"
    logprobs, top = reply.get("logprobs"), reply.get("top_logprobs")
    if logprobs is None:
        return "top_logprobs needs logprobs" if top is not None else None
    if not _numbers(logprobs) or not logprobs:
        return "logprobs must be a non-empty list of numbers <= 0"
    if top is not None and (not isinstance(top, list) or len(top) != len(logprobs)
                            or not all(_numbers(t) and t for t in top)):
        return "top_logprobs must hold one non-empty list of numbers <= 0 per logprob"
    return None


def _confidence(reply: str | dict, tokens: int | None = None) -> Confidence | None:
    if isinstance(reply, str) or reply.get("logprobs") is None:
        return None
    top = reply.get("top_logprobs") or [[] for _ in reply["logprobs"]]
    return from_top_logprobs(list(zip(reply["logprobs"], top, strict=True))[:tokens])


def _early_stop(reply: str | dict, threshold: float | None) -> EarlyStop | None:
    """Where ``threshold`` would have stopped this reply's generation; None without one or without top_logprobs."""
    if threshold is None or isinstance(reply, str) or not reply.get("top_logprobs"):
        return None
    return first_low_group([token_confidence(top) for top in reply["top_logprobs"]], threshold)


def _in_memory(script: list | dict) -> dict[str, list[str | dict]]:
    """A script built in Python, held to the file's rules."""
    queues = {_SHARED: script} if isinstance(script, list) else script
    if not isinstance(queues, dict):
        raise ModelURIError("a script is a list of replies or a mapping of role to replies")
    for role, replies in queues.items():
        if role != _SHARED and role not in ROLES:
            raise ModelURIError(f"{role}: unknown role (expected one of {', '.join(ROLES)})")
        _check_replies(role, replies, "")
    return {role: list(replies) for role, replies in queues.items()}


class ScriptedModel:
    """A model that answers from a script; the same script always gives the same run.

    ``ScriptedModel(["reply", ...])`` or ``ScriptedModel({"solver": [...], "critic": [...]})`` builds
    one in memory, for library code: ``agentloop.run(task, model=ScriptedModel([...]))``.
    """

    def __init__(self, script: Path | list | dict, uri: str | None = None) -> None:
        if isinstance(script, Path):
            self.path, self._queues = script, load_script(script)
        else:
            self.path, self._queues = Path("<memory>"), _in_memory(script)
        self.uri = uri or f"scripted:memory@{id(self):x}"
        self._used: dict[str, int] = {}

    def _queue_name(self, role: str) -> str:
        return _SHARED if _SHARED in self._queues else role

    def replayed(self, role: str) -> None:
        """Account for a turn that a resumed run took from the store instead of calling the model."""
        name = self._queue_name(role)
        self._used[name] = self._used.get(name, 0) + 1

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Return the role's next scripted reply."""
        started = time.monotonic()
        name = self._queue_name(request.role)
        queue = self._queues.get(name, [])
        index = self._used.get(name, 0)
        if index >= len(queue):
            raise ScriptExhaustedError(request.role, str(self.path))
        self._used[name] = index + 1
        await asyncio.sleep(0)  # a real await point, as every backend has
        reply = queue[index]
        text = reply if isinstance(reply, str) else reply["text"]
        stopped = _early_stop(reply, request.stop_below)
        if stopped is not None and isinstance(reply, dict):  # cut where the generation would have ended (module docstring)
            text = text[:round(len(text) * stopped.token / len(reply["logprobs"]))]
        usage = Usage(prompt_tokens=sum(approx_tokens(m["content"]) for m in messages),
                      completion_tokens=min(approx_tokens(text), request.max_tokens))
        return Completion(text=text, usage=usage, latency_s=time.monotonic() - started, model=self.uri,
                          confidence=_confidence(reply, stopped.token if stopped else None), stopped=stopped)
