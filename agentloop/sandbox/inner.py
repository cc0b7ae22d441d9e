"""Inside bubblewrap: confine (Landlock, limits, fresh uid) and run, as the zygote's child does in Layer A.

``python -m agentloop.sandbox.inner CONF_JSON ARGV_JSON ENV_JSON PYTHON``; descriptors 0–4 are
already in place, passed through bwrap.
"""

from __future__ import annotations

import json
import os
import sys

from . import confine, runner


def main() -> None:
    """Entry point inside the namespaces."""
    conf_data, argv, env, python = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), \
        sys.argv[4] == "1"
    code = 126
    try:
        conf = confine.Confinement(**{**conf_data, "limits": confine.Limits(**conf_data["limits"]), "cgroup": None},
                                   read_paths=confine.static_read_paths())
        confine.apply(conf)
        os.closerange(5, 1 << 16)
        code = runner.run(argv, env, python=python)
    except BaseException as exc:  # noqa: BLE001 - never run unconfined
        os.write(2, f"agentloop sandbox: could not start: {type(exc).__name__}: {exc}\n".encode())
    os._exit(code)


if __name__ == "__main__":
    main()
