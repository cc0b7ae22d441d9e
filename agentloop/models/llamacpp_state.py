"""Prefix-cache states without the logits: what the RAM cache of saved states (llamacpp.py) holds.

llama-cpp-python's ``save_state`` copies ``scores`` into every saved state: a float per vocabulary
entry for every token held (49,152 per token for SmolLM2: 70 MB for a 360-token prompt), next to
the 8 MB of KV cache that is the state itself, and its ``LlamaRAMCache`` counts only the latter
against its capacity. So each completion paid tens to hundreds of milliseconds copying logits,
and ``cache_mb=512`` could hold several GB. Nothing reads those logits back: a restored state is
marked as needing evaluation (``_requires_eval``), so the next generation evaluates at least its
last prompt token again and samples from fresh logits. Imported only with llama-cpp-python.
"""

from __future__ import annotations

import ctypes

import llama_cpp
import numpy as np
from llama_cpp import Llama, LlamaState


class LeanLlama(Llama):
    """``Llama`` whose saved states hold the context's state and token ids, not the logits."""

    def save_state(self) -> LlamaState:
        """The context's state (KV cache) and the tokens it holds."""
        size = llama_cpp.llama_state_get_size(self._ctx.ctx)
        buffer = (ctypes.c_uint8 * int(size))()
        used = int(llama_cpp.llama_state_get_data(self._ctx.ctx, buffer, size))
        if used > int(size):
            raise RuntimeError("Failed to copy llama state data")
        return LlamaState(input_ids=self.input_ids.copy(), scores=np.empty((0, 0), dtype=np.single),
                          n_tokens=self.n_tokens, llama_state=ctypes.string_at(buffer, used),
                          llama_state_size=used, seed=self._seed)

    def load_state(self, state: LlamaState) -> None:
        """Restore a saved state; its logits are stale, so the next generation re-evaluates a token."""
        self.input_ids = state.input_ids.copy()
        self.n_tokens = state.n_tokens
        self._requires_eval = True  # the logits are not restored: never sample from them
        self._seed = state.seed
        data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
        if llama_cpp.llama_state_set_data(self._ctx.ctx, data, state.llama_state_size) != state.llama_state_size:
            raise RuntimeError("Failed to set llama state data")
