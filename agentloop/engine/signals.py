"""SIGINT/SIGTERM stop a run cleanly: the run's task is cancelled, never left to KeyboardInterrupt luck.

``SignalStop`` installs asyncio signal handlers for as long as it is entered. The first signal
cancels the task started with ``run``: the strategy stops scheduling turns, in-flight model calls
and sandboxed checks are cancelled (their process groups killed), and ``run`` raises
``Interrupted`` so the caller can record the run as ``interrupted``. Later signals are ignored
while that cleanup finishes; it is bounded (no model call or check waits past its cancellation).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The run's task was cancelled by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class SignalStop:
    """While entered, the first of ``signals`` cancels the task given to ``run``."""

    def __init__(self, signals: tuple[int, ...] = STOP_SIGNALS) -> None:
        self.signals = signals
        self.received: int | None = None
        self._task: asyncio.Future | None = None
        self._installed: list[int] = []

    def __enter__(self) -> Self:
        loop = asyncio.get_running_loop()
        for signum in self.signals:
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (ValueError, RuntimeError, NotImplementedError):
                continue  # not the main thread, or no signals here: the run just cannot be stopped this way
            self._installed.append(signum)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._installed:
            loop.remove_signal_handler(signum)
        self._installed.clear()

    def _on_signal(self, signum: int) -> None:
        if self.received is None:
            self.received = signum
            if self._task is not None:
                self._task.cancel()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` as a task a signal can cancel; ``Interrupted`` if one did."""
        self._task = asyncio.ensure_future(coro)
        if self.received is not None:
            self._task.cancel()
        try:
            return await self._task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.received is not None and (current is None or not current.cancelling()):
                raise Interrupted(self.received) from None
            raise  # cancelled from outside (a caller's timeout or task group): not ours to swallow


class _DropCancelledNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def quiet_cancellation_noise() -> None:
    """For the CLI, whose contract is one line: drop asyncio's "exception was never retrieved"
    reports of ``CancelledError``. A stop cancels checks in flight, and a helper future nobody
    awaited (seen: a sandbox's output pumps) is then reported with a traceback at exit; that is
    noise to a user who pressed Ctrl-C. Every other asyncio report still reaches stderr."""
    logging.getLogger("asyncio").addFilter(_DropCancelledNoise())
