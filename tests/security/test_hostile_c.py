"""Hostile C candidates: a constructor that exits 0 before the tests' main, compiler inputs that
never end (``#include "/dev/zero"``), an endless line, and writes outside the workdir.
"""

from __future__ import annotations

import shutil

import pytest
from hostile_kit import Canary, assert_survived, hostile_task, run_pipeline

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler (apt-get install -y gcc libc6-dev)")

C_TESTS = """
#include <assert.h>
#define main solution_main
#include "solution.c"
#undef main
int main(void) {
    assert(max3(1, 2, 3) == 3);
    assert(max3(3, 2, 1) == 3);
    return 0;
}
"""
C_CASES = [{"stdin": "4 9 2\n", "stdout": "9\n"}]
WRONG_MAX = "int max3(int a, int b, int c) { (void)b; (void)c; return a; }\n"

CONSTRUCTOR_EXIT = """
#include <unistd.h>
__attribute__((constructor)) static void before_main(void) { _exit(0); }
""" + WRONG_MAX + "int main(void) { return 0; }\n"
ENDLESS_LINE = """
#include <stdio.h>
""" + WRONG_MAX + "int main(void) { for (;;) putchar('z'); }\n"
WRITE_OUTSIDE = """
#include <stdio.h>
#include <sys/stat.h>
""" + WRONG_MAX + """int main(void) {
    FILE *f = fopen("CANARY", "a");
    if (f) { fputs("escaped\\n", f); fclose(f); }
    chmod("CANARY", 0777);
    f = fopen("/tmp/CREATED", "w");
    if (f) { fputs("escaped\\n", f); fclose(f); }
    puts("0");
    return 0;
}
"""


def test_constructor_exit_before_main_fails_the_tests(layer, tmp_path):
    """``_exit(0)`` from a constructor ends the test program with status 0 before any assert ran."""
    task = hostile_task(tmp_path / "task", layer=layer, candidate=CONSTRUCTOR_EXIT, language="c", entry_point="max3",
                        feedback=[{"kind": "tests", "code": C_TESTS}])
    assert_survived(run_pipeline(task), layer=layer, executions=2)  # build, then run


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_include_of_an_endless_device_is_stopped(layer, tmp_path, device):
    candidate = f'#include "{device}"\n' + WRONG_MAX
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, language="c", entry_point="max3",
                        feedback=[{"kind": "compile"}])
    out = run_pipeline(task)
    assert_survived(out, layer=layer, allowed={"timeout", "exit", "signal", "memory", "output_limit"})


def test_endless_output_of_a_c_program_is_capped(layer, tmp_path):
    task = hostile_task(tmp_path / "task", layer=layer, candidate=ENDLESS_LINE, language="c", entry_point="max3",
                        feedback=[{"kind": "run", "cases": C_CASES}])
    assert_survived(run_pipeline(task), layer=layer, executions=2, allowed={"output_limit"})


def test_c_program_cannot_write_outside_the_workdir(layer, tmp_path):
    canary = Canary(tmp_path / "canary.txt")
    created = tmp_path.parent / f"created-{tmp_path.name}"  # outside tmp_path too, on the same filesystem
    candidate = WRITE_OUTSIDE.replace("CANARY", str(canary.path)).replace("/tmp/CREATED", str(created))
    task = hostile_task(tmp_path / "task", layer=layer, candidate=candidate, language="c", entry_point="max3",
                        feedback=[{"kind": "run", "cases": C_CASES}])
    try:
        out = run_pipeline(task)
        assert_survived(out, layer=layer, executions=2, allowed={"ok"})
        assert canary.changes() == [], "the C candidate changed a file outside its workdir"
        assert not created.exists(), f"the C candidate created {created}"
    finally:
        created.unlink(missing_ok=True)
