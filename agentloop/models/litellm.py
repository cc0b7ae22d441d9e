"""``litellm:MODEL[?api_base=URL]``: any litellm model string, or an OpenAI-compatible server.

The whole call has one deadline enforced from outside (a drip-fed response cannot outlive it).
"""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import parse_qsl

from ..errors import ModelError, ModelURIError
from .base import Completion, Request, Usage

_PARAMS = ("api_base", "api_key")


class LiteLLMModel:
    """A remote (or loopback) model reached through litellm's ``acompletion``."""

    def __init__(self, spec: str, uri: str) -> None:
        self.uri = uri
        self.model, _, query = spec.partition("?")
        self.params = dict(parse_qsl(query))
        for key in self.params:
            if key not in _PARAMS:
                raise ModelURIError(f"{uri}: unknown parameter '{key}' (known: {', '.join(_PARAMS)})")

    async def complete(self, messages: list[dict[str, str]], request: Request) -> Completion:
        """Call the model once under the request's deadline."""
        # litellm otherwise fetches its price table from the network at import and stalls offline
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm
        except ImportError:
            raise ModelError(f"{self.uri}: litellm is not installed (pip install 'agentloop[remote]')") from None
        started = time.monotonic()
        kwargs = {"temperature": request.temperature, "max_tokens": request.max_tokens, **self.params}
        if request.seed is not None:
            kwargs["seed"] = request.seed
        try:
            reply = await asyncio.wait_for(
                litellm.acompletion(model=self.model, messages=messages, timeout=request.timeout_s, **kwargs),
                request.timeout_s)
        except TimeoutError:
            raise ModelError(f"{self.uri}: no reply within {request.timeout_s:.1f} s") from None
        except Exception as exc:  # litellm raises many provider-specific types; classify as model failure
            raise ModelError(f"{self.uri}: {type(exc).__name__}: {str(exc)[:300]}") from None
        usage = getattr(reply, "usage", None)
        return Completion(text=reply.choices[0].message.content or "",
                          usage=Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0),
                          latency_s=time.monotonic() - started, model=self.uri)
