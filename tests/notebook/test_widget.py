"""The widget's state, throttling, controls and replay, with synthetic and real events; the JS and
CSS assets shipped in the wheel and found from an installed copy."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import asap_lab as al
from asap_lab.events import Event
from asap_lab.notebook import AsapWidget, RunState, asset_dir, replay
from asap_lab.notebook._state import clean
from asap_lab.selectors import Selection
from asap_lab.trial import Proposal, Trial, TrialState
from tests.notebook.conftest import wait_for

SPACE = {"x": al.Float(-3, 3), "k": al.Int(0, 5)}


def bowl(c):
    time.sleep(0.02)
    return (c["x"] - 1) ** 2 + abs(c["k"] - 2)


def synthetic_round(n: int, value: float, t0: float = 1000.0) -> list[Event]:
    props = [Proposal("tpe", {"x": 0.5, "k": 1}, 0.01), Proposal("cmaes", {"x": 2.0, "k": 3}, 0.02),
             Proposal("qmc", {}, 0.0, "duplicate of trial 0")]
    meta = {"llm_s": 3.2, "prompt_tokens": 2000, "cached_tokens": 1800, "backend": "embedded:x",
            "eligible": ["tpe", "cmaes"]}
    sel = Selection("cmaes", "cmaes keeps improving near the best", "llm", {"tpe": 0.1, "cmaes": 0.7}, meta)
    tr = Trial(n, {"x": 2.0, "k": 3}, value, TrialState.COMPLETE, "cmaes", "llm", sel.rationale,
               start=t0 + n, end=t0 + n + 0.5, proposals=tuple(props), decision=meta,
               timings={"eval_s": 0.5, "ask_s": 0.03, "tell_s": 0.01, "select_s": 3.3, "llm_s": 3.2,
                        "exposed_s": 3.4})
    return [Event("proposals", {"number": n, "proposals": props}, t0 + n),
            Event("selection", {"number": n, "selection": sel, "proposal": props[1]}, t0 + n),
            Event("trial", {"trial": tr}, t0 + n + 0.5)]


def test_state_folds_events_into_round_and_trial_views() -> None:
    st = RunState("maximize")
    st.apply(Event("run_start", {"n_trials": 5, "resumed": 0, "tools": ["tpe", "cmaes", "qmc"]}, 1000.0))
    for n, v in enumerate([1.0, 3.0, 2.0]):
        for ev in synthetic_round(n, v):
            st.apply(ev)
    st.apply(Event("something_new", {"x": 1}))  # unknown kinds are ignored
    snap = st.snapshot()
    info, rv = snap["info"], snap["round_view"]
    assert info["round"] == 2 and info["done_trials"] == 3 and info["status"] == "running"
    assert (info["best"], info["best_trial"]) == (3.0, 1)  # maximize: the largest
    rows = {r["tool"]: r for r in rv["proposals"]}
    assert rows["cmaes"]["picked"] and rows["cmaes"]["ei"] == 0.7 and rows["tpe"]["ei"] == 0.1
    assert rows["qmc"]["error"] == "duplicate of trial 0" and not rows["qmc"]["eligible"]
    assert rows["tpe"]["params"] == "x=0.5, k=1" and json.loads(rows["tpe"]["config"]) == {"x": 0.5, "k": 1}
    assert rv["selection"]["who"] == "LLM" and rv["selection"]["rationale"].startswith("cmaes keeps")
    assert rv["result"]["value"] == 2.0
    assert [t["kv_cached"] / t["kv_prompt"] for t in snap["trials"]] == [0.9, 0.9, 0.9]
    assert snap["timing"]["llm_s"] == pytest.approx(9.6) and snap["timing"]["eval_s"] == pytest.approx(1.5)
    assert st.snapshot(0)["round_view"]["number"] == 0  # any earlier round can be viewed
    stats = {"wall_s": 12.0, "eval_s": 1.5, "kv_hit_rate": 0.9}
    st.apply(Event("run_end", {"run": type("R", (), {"stats": stats})()}))
    snap = st.snapshot()
    # 3 of the 5 trials asked for: the run was stopped early
    assert snap["info"]["status"] == "stopped"
    assert snap["timing"]["final"] and snap["timing"]["wall_s"] == 12.0


def test_speculation_and_tau_events_and_json_safety() -> None:
    st = RunState()
    st.apply(Event("speculation", {"number": 3, "predicted": 1.0, "actual": 1.05, "e": 0.05, "tau": 0.1,
                                   "accepted": True, "saved_s": 2.5, "reason": "", "frozen": False}))
    st.apply(Event("speculation", {"number": 4, "predicted": 1.0, "actual": 3.0, "e": float("inf"),
                                   "tau": 0.1, "accepted": False, "saved_s": 0.0, "reason": "e > tau"}))
    st.apply(Event("tau", {"tau": 0.125, "frozen": True}))
    snap = st.snapshot()
    assert [r["accepted"] for r in snap["speculation"]] == [True, False]
    assert snap["speculation"][1]["e"] is None  # inf is not JSON
    assert snap["info"]["tau"] == {"tau": 0.125, "frozen": True}
    json.dumps(snap, allow_nan=False)
    assert clean({"a": np.float64(2.5), "b": [np.int64(3), math.nan], "c": object}) == \
        {"a": 2.5, "b": [3, None], "c": str(object)}


def test_live_widget_is_throttled_and_fed_from_the_run_thread() -> None:
    h = al.start(lambda c: (c["x"] - 1) ** 2, SPACE, n_trials=80, tools=["random"], selector="round-robin",
                 seed=0)
    w = AsapWidget(h, n_trials=80, interval=0.2)
    flushes = []
    w.observe(lambda ch: flushes.append(time.perf_counter()), names="info")
    t0 = time.perf_counter()
    h.result(timeout=60)
    wait_for(lambda: w.info.get("status") == "done", what="final flush")
    elapsed = time.perf_counter() - t0
    assert len(w.trials) == 80 and w.info["done_trials"] == 80
    assert len(flushes) <= elapsed / 0.2 + 3  # throttled, not one flush per event (~240 events)
    assert w._flusher is not None
    w._flusher.join(5)
    assert not w._flusher.is_alive()  # the flusher ends with the run
    w.view_round = 10  # browsing rounds after the end still updates the view
    assert w.round_view["number"] == 10


def test_browser_messages_call_the_handle() -> None:
    gate = __import__("threading").Event()

    def gated(c):
        gate.wait(20)
        return bowl(c)

    h = al.start(gated, SPACE, n_trials=4, tools=["random", "tpe"], selector="ei", seed=0)
    w = AsapWidget(h, n_trials=4)

    def msg(content):  # the path a real comm message takes
        w._handle_custom_msg(content, [])

    msg({"cmd": "pause"})
    assert h.controls.paused
    msg({"cmd": "resume"})
    assert not h.controls.paused
    msg({"cmd": "freeze_tau", "tau": 0.3})
    assert h.controls.tau_frozen and h.controls.tau_value == 0.3
    msg({"cmd": "unfreeze_tau"})
    assert not h.controls.tau_frozen
    msg({"cmd": "override_tool", "tool": "tpe"})
    msg({"cmd": "override_config", "config": '{"x": 1.0, "k": 2}'})
    assert h.controls.pending_overrides == 2
    msg({"cmd": "override_config", "config": "{x: 1"})
    msg({"cmd": "override_config", "config": "[1, 2]"})
    msg({"cmd": "launch"})
    texts = [n["text"] for n in w.state.notices]
    assert any("configuration is not JSON" in t for t in texts)
    assert any("must be a JSON object" in t for t in texts)
    assert any("unknown widget command 'launch'" in t for t in texts)
    gate.set()
    run = h.result(timeout=60)
    humans = [t for t in run.trials if t.picked_by == "human"]
    assert [t.tool for t in humans] == ["tpe", "human"] and humans[1].params == {"x": 1.0, "k": 2}
    wait_for(lambda: w.info.get("status") == "done", what="final flush")
    assert any("override #" in n["text"] and "applied" in n["text"] for n in w.notices)


def test_replay_a_journal(tmp_path) -> None:
    path = tmp_path / "run.jsonl"
    try:  # with speculation where the core has it: its spec records are replayed too
        al.optimize(bowl, SPACE, n_trials=8, tools=["random", "tpe", "qmc"], seed=0, journal=path,
                    speculate=True)
    except al.ConfigError:
        al.optimize(bowl, SPACE, n_trials=8, tools=["random", "tpe", "qmc"], seed=0, journal=path)
    w = replay(path)
    assert not w.controls and w.info["status"] == "replay" and len(w.trials) == 8
    assert w.round_view["number"] == 7 and len(w.round_view["proposals"]) == 3
    assert w.round_view["selection"]["rationale"]
    with pytest.raises(RuntimeError, match="replays a finished run"):
        w.command({"cmd": "pause"})
    w.view_round = 2  # what the browser's ◀ button does: no flusher runs for a replay
    assert w.round_view["number"] == 2
    from asap_lab.journal import read_journal

    specs = [r for r in read_journal(path).records if r.get("type") == "spec"]
    assert len(w.speculation) == len(specs)


def test_assets_are_local_files_with_no_remote_imports() -> None:
    d = asset_dir()
    js = (d / "asap_widget.js").read_text()
    css = (d / "asap_widget.css").read_text()
    assert "export default" in js and "function render" in js and ".asap-w" in css
    code = (js + css).replace("http://www.w3.org/2000/svg", "")  # the SVG namespace is a name, not a fetch
    assert not re.search(r"https?://", code)  # no CDN: renders offline
    assert not re.search(r"^\s*import\s", js, re.M)
    assert AsapWidget._esm is not None and "export default" in str(AsapWidget._esm)


@pytest.mark.slow
def test_wheel_ships_the_assets_and_an_installed_copy_finds_them(tmp_path) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    src = tmp_path / "src"  # build from a copy: no build/ folder left in the checkout
    src.mkdir()
    for part in ("pyproject.toml", "README.md", "asap_lab", "widgets"):
        if (root / part).is_dir():
            shutil.copytree(root / part, src / part, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(root / part, src / part)
    wheel_dir = tmp_path / "w"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(wheel_dir)],
                   check=True, capture_output=True, timeout=300, cwd=tmp_path)
    wheel = next((tmp_path / "w").glob("asap_lab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "asap_lab/notebook/_widgets/asap_widget.js" in names
    assert "asap_lab/notebook/_widgets/asap_widget.css" in names
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = ("import asap_lab, asap_lab.notebook as nb; print(asap_lab.__file__); print(nb.asset_dir()); "
            "print(len(str(nb.AsapWidget._esm)))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
                         timeout=120).stdout.split()
    assert out[0].startswith(str(tmp_path / "site"))  # the installed copy, not the checkout
    assert out[1] == str(tmp_path / "site" / "asap_lab" / "notebook" / "_widgets")
    assert int(out[2]) > 1000


def test_failures_and_llm_fallbacks_show_in_the_widget_state() -> None:
    """A real run: an objective that fails every other call and an LLM server that is down
    (nothing listens on the port): the widget counts both and shows each reason."""
    import socket

    with socket.socket() as s:  # a free port with nothing listening: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    calls = []

    def flaky(c):
        calls.append(c)
        if len(calls) % 2 == 0:
            raise ValueError("diverged: loss is nan")
        return bowl(c)

    st = RunState()
    run = al.optimize(flaky, SPACE, n_trials=6, tools=["tpe", "qmc"], seed=0,
                      llm=f"openai:http://127.0.0.1:{port}/v1#m", callbacks=[st.apply])
    snap = st.snapshot()
    failed = [t for t in run.trials if not t.ok]
    assert len(failed) == 3 and all(t.picked_by == "fallback" for t in run.trials)
    assert snap["info"]["failed"] == 3 and snap["info"]["fallbacks"] == 6
    assert [r["error"] is not None for r in snap["trials"]] == [not t.ok for t in run.trials]
    assert all("diverged: loss is nan" in r["error"] for r in snap["trials"] if r["error"])
    rv = snap["round_view"]  # the latest round (trial 5) failed and its pick was a fallback
    assert rv["number"] == 5 and rv["result"]["ok"] is False and "diverged" in rv["result"]["error"]
    assert rv["selection"]["who"] == "fallback" and "LLMError" in rv["selection"]["fallback_reason"]
