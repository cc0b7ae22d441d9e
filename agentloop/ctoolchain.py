"""The older path of ``agentloop.checks.ctoolchain``, kept for user code that imports it."""

from .checks.ctoolchain import CFLAGS, JSON_FLAG, build, compiler, listing, parse_diagnostics, speaks_json

__all__ = ["CFLAGS", "JSON_FLAG", "build", "compiler", "listing", "parse_diagnostics", "speaks_json"]
