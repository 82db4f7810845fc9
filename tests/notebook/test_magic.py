"""``%%asap`` in IPython's test shell: arguments, one-line errors, a real run under control,
interrupts that stop cleanly, and an extension that reloads idempotently."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

from asap_lab.notebook import AsapMagics, AsapWidget, NotebookRun
from tests.notebook.conftest import wait_for

BODY = """
import time
import asap_lab as al
def objective(c):
    time.sleep({sleep})
    return (c["x"] - 1) ** 2 + abs(c["k"] - 2)
space = {{"x": al.Float(-3, 3), "k": al.Int(0, 5)}}
"""


def kwargs(line: str) -> dict:
    return AsapMagics._kwargs(parse_argstring(AsapMagics.asap, line))


def cell(ip, line: str, body: str = BODY, sleep: float = 0.0):
    return ip.run_cell(f"%%asap {line}\n" + body.format(sleep=sleep))


def usage_error(result) -> str:
    err = result.error_in_exec
    assert isinstance(err, UsageError), f"expected a UsageError, got {err!r}"
    assert "\n" not in str(err)  # one line, no traceback
    return str(err)


@pytest.fixture
def fresh(ip):
    """Stop and forget any run a test left under its name."""
    yield ip
    for name, v in list(ip.user_ns.items()):
        if isinstance(v, NotebookRun):
            v.stop(wait=True, timeout=30)
            del ip.user_ns[name]
    for k in ("objective", "space"):
        ip.user_ns.pop(k, None)


def test_arguments_map_to_optimize_keywords() -> None:
    assert kwargs("") == {"n_trials": 20, "direction": "minimize", "llm": "embedded"}
    kw = kwargs("-n 7 --tools tpe,cmaes --selector ei --seed 3 --direction maximize --journal r.jsonl "
                "--speculate --tau 0.25 --freeze")
    assert kw["n_trials"] == 7 and kw["tools"] == ["tpe", "cmaes"] and kw["selector"] == "ei"
    assert "llm" not in kw and kw["seed"] == 3 and kw["direction"] == "maximize"
    assert kw["journal"] == "r.jsonl" and kw["speculate"] is True
    assert kw.get("tau", 0.25) == 0.25
    assert kwargs("--no-speculate --llm none")["speculate"] is False
    assert "llm" not in kwargs("--llm none")
    assert kwargs("--llm openai:http://127.0.0.1:8080/v1#m")["llm"] == "openai:http://127.0.0.1:8080/v1#m"
    doc = AsapMagics.asap.__doc__
    for opt in ("--trials", "--tools", "--llm", "--selector", "--speculate", "--no-speculate", "--tau",
                "--freeze", "--journal", "--name", "--seed", "--direction"):
        assert opt in doc  # what %%asap? shows


@pytest.mark.parametrize(("line", "message"), [
    ("--bogus", "unrecognized arguments: --bogus"),
    ("-n many", "invalid int value"),
    ("-n 0", "--trials must be a positive integer"),
    ("--direction sideways", "invalid choice"),
    ("--name 1x", "--name must be a Python identifier"),
    ("--name class", "--name must be a Python identifier"),
    ("--tools ,", "--tools needs a comma-separated list"),
    ("--llm embedded --selector ei", "give --llm or --selector, not both"),
    ("--tau -1 --freeze", "--tau must be a non-negative number"),
])
def test_bad_arguments_give_one_usage_line_and_start_nothing(fresh, line, message) -> None:
    msg = usage_error(cell(fresh, line))
    assert message in msg
    assert "asap_run" not in fresh.user_ns


@pytest.mark.parametrize(("body", "message"), [
    ("def objective(c): return 1.0\n", "the cell must define space"),
    ("import asap_lab as al\nspace = {'x': al.Float(0, 1)}\n", "the cell must define objective"),
    ("x = 1\n", "the cell must define objective and space"),
    ("import asap_lab as al\nobjective = 3\nspace = {'x': al.Float(0, 1)}\n", "objective must be callable"),
    ("def objective(c): return 1.0\nspace = [1, 2]\n", "space must be a dict of parameters"),
    ("import asap_lab as al\ndef objective(c): return 1.0\nspace = {'x': al.Float(1, 0)}\n", "low"),
    ("raise ValueError('boom')\n", "the cell failed (ValueError: boom)"),
])
def test_cell_must_define_objective_and_space(fresh, body, message) -> None:
    fresh.user_ns["objective"] = lambda c: 0.0  # a stale definition from an earlier cell is not used
    msg = usage_error(fresh.run_cell("%%asap -n 2 --selector ei\n" + body))
    assert message in msg
    assert "asap_run" not in fresh.user_ns


def test_core_errors_surface_as_one_line(fresh) -> None:
    assert "unknown tool 'nope'" in usage_error(cell(fresh, "-n 2 --selector ei --tools nope"))
    assert "unknown LLM backend 'foo'" in usage_error(cell(fresh, "-n 2 --llm foo"))
    assert "unknown selector 'best'" in usage_error(cell(fresh, "-n 2 --selector best"))
    assert "journal" in usage_error(cell(fresh, "-n 2 --selector ei --journal /proc/nope/run.jsonl"))
    assert "asap_run" not in fresh.user_ns


def test_magic_returns_at_once_and_the_handle_controls_the_run(fresh) -> None:
    res = cell(fresh, "-n 300 --selector ei --tools random,tpe,qmc --seed 0 --name ctl", sleep=0.05)
    assert res.success and res.result is None
    run = fresh.user_ns["ctl"]
    assert isinstance(run, NotebookRun) and isinstance(run.widget, AsapWidget)
    assert run.running and len(run.trials) < 300  # the magic did not wait for the run
    wait_for(lambda: len(run.trials) >= 3, what="3 trials")
    run.pause()
    wait_for(lambda: any(e.kind == "paused" for e in run.events), what="paused event")
    n = len(run.trials)
    assert wait_for_status(run, "paused") and len(run.trials) == n
    run.override("qmc", note="from a test")
    run.override({"x": 1.0, "k": 2})
    run.resume()
    wait_for(lambda: sum(t.picked_by == "human" for t in run.trials) == 2, what="two human picks")
    humans = [t for t in run.trials if t.picked_by == "human"]
    assert humans[0].tool == "qmc" and humans[1].params == {"x": 1.0, "k": 2} and humans[1].value == 0.0
    res = fresh.run_cell("%%asap -n 2 --selector ei --name ctl\n" + BODY.format(sleep=0))
    assert "ctl is still running" in usage_error(res)
    run.stop(wait=True, timeout=30)
    assert run.done and len(run.trials) < 300
    wait_for(lambda: run.widget.info.get("status") == "stopped", what="widget shows stopped")
    assert run.widget.info["done_trials"] == len(run.trials)


def wait_for_status(run: NotebookRun, status: str) -> bool:
    wait_for(lambda: run.widget.info.get("status") == status, what=f"widget status {status}")
    return True


def test_keyboard_interrupt_in_wait_stops_cleanly_and_reraises(fresh, tmp_path) -> None:
    journal = tmp_path / "run.jsonl"
    res = cell(fresh, f"-n 500 --selector ei --tools random --journal {journal}", sleep=0.1)
    assert res.success
    run = fresh.user_ns["asap_run"]
    wait_for(lambda: len(run.trials) >= 2, what="2 trials")
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run.wait()
    assert run.done and not run.running  # stopped, and waited for the end
    from asap_lab.journal import read_journal

    recorded = read_journal(journal).trials
    assert 2 <= len(run.trials) < 500 and len(recorded) == len(run.trials)  # the in-flight one too
    assert run.result().stats["n_session_trials"] == len(run.trials)


def test_speculate_and_frozen_tau_pass_through(fresh) -> None:
    line = "-n 8 --selector ei --tools random,tpe --seed 1 --speculate --tau 0.3 --freeze --name sp"
    res = cell(fresh, line, sleep=0.05)
    if not res.success:  # a core without the speculative scheduler: one clear line, nothing started
        assert "speculat" in usage_error(res) and "sp" not in fresh.user_ns
        return
    run = fresh.user_ns["sp"]
    assert run.controls.tau_frozen and run.controls.tau_value == 0.3
    out = run.wait(60)
    assert out is not None and len(out.trials) == 8
    specs = [e for e in run.events if e.kind == "speculation"]
    assert specs and all(e.data["tau"] == 0.3 for e in specs)
    wait_for(lambda: len(run.widget.speculation) == len(specs), what="speculation rows in the widget")


def test_extension_reload_is_idempotent(fresh) -> None:
    mm = fresh.magics_manager
    fresh.run_line_magic("load_ext", "asap_lab")  # already loaded: harmless
    fresh.run_line_magic("reload_ext", "asap_lab")
    fresh.run_line_magic("reload_ext", "asap_lab")
    assert "asap" in mm.magics["cell"]
    assert sum(type(m).__name__ == "AsapMagics" for m in mm.registry.values()) == 1
    fresh.run_line_magic("unload_ext", "asap_lab")
    assert "asap" not in mm.magics["cell"]
    fresh.run_line_magic("load_ext", "asap_lab")
    res = cell(fresh, "-n 3 --selector ei --tools random")
    assert res.success
    assert fresh.user_ns["asap_run"].wait(30) is not None


def test_core_import_does_not_pull_in_jupyter() -> None:
    import subprocess
    import sys

    code = ("import sys, asap_lab; mods = ('IPython', 'ipywidgets', 'anywidget');"
            "bad = [m for m in mods if m in sys.modules]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
