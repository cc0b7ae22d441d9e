"""The older name of ``agentloop.checks``, the API feedback kinds are written against.

Tools written as ``from agentloop.feedback import CheckContext, Feedback, trim`` keep working:
every name here is the same object as in ``agentloop.checks``. New code imports from there.
"""

from __future__ import annotations

from .checks import *  # noqa: F403 - exactly the names agentloop.checks declares in its __all__
from .checks import __all__ as __all__
