"""A real browser: JupyterLab on 127.0.0.1 driven through Debian's chromium by Playwright.

The notebook runs ``%%asap``; the test watches proposals, the rationale, speculation rows and the
SVG charts appear, clicks an override, types a configuration and freezes tau in the widget, and
checks in the kernel (another cell) that all of them took effect, while the loop still runs.
Screenshots go to ``tests/notebook/artifacts/``. Never downloads a browser.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium; .ci/run installs it)"),
]

OBJECTIVE = """\
import time
import asap_lab as al

def objective(c):
    time.sleep(0.5)
    return (c["x"] - 1) ** 2 + (c["y"] + 0.5) ** 2

space = {"x": al.Float(-3, 3), "y": al.Float(-2, 2)}"""

CHECK = """\
import json, time
t0 = time.time()
while time.time() - t0 < 30 and sum(t.picked_by == "human" for t in asap_run.trials) < 2:
    time.sleep(0.1)
humans = [t for t in asap_run.trials if t.picked_by == "human"]
print("STATE " + json.dumps({"frozen": asap_run.controls.tau_frozen, "tau": asap_run.controls.tau_value,
      "human_tools": [t.tool for t in humans], "human_params": [t.params for t in humans],
      "applied": sum(e.kind == "override_applied" for e in asap_run.events), "running": asap_run.running}))"""


def _speculation_available() -> bool:
    import asap_lab as al

    try:
        al.optimize(lambda c: c["x"], {"x": al.Float(0, 1)}, n_trials=1, tools=["random"], speculate=True)
    except al.ConfigError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    """Lab settings: render every cell (no windowing), no news or update checks."""
    for rel, value in [
        ("@jupyterlab/notebook-extension/tracker.jupyterlab-settings", {"windowingMode": "none"}),
        ("@jupyterlab/apputils-extension/notification.jupyterlab-settings",
         {"fetchNews": "false", "checkForUpdates": False}),
    ]:
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a free 127.0.0.1 port with token auth and a temp root; yields (url, root, token)."""
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    _write_settings(home / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
           "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'ws'}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() - t0 > 90:
                    logged = (tmp_path / "lab.log").read_text()
                    raise RuntimeError("JupyterLab did not start:\n" + logged) from None
                time.sleep(0.3)
        yield url, root, token
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _notebook(root: Path, cells: list[str]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, root / "live.ipynb")
    return "live.ipynb"


class Lab:
    """A notebook opened in JupyterLab in headless chromium; ``run_cell(i)``, ``output(i)``."""

    def __init__(self, p, lab, tmp_path, cells: list[str]) -> None:
        from playwright.sync_api import expect

        url, root, token = lab
        name = _notebook(root, cells)
        self.ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chrome"), executable_path=str(CHROMIUM), headless=True, args=CHROME_ARGS,
            viewport={"width": 1300, "height": 1700})
        page = self.page = self.ctx.new_page()
        page.set_default_timeout(90_000)
        expect.set_options(timeout=60_000)  # the first cell waits for the kernel to start
        page.goto(f"{url}/lab/tree/{name}?token={token}")
        self.cells = page.locator(".jp-NotebookPanel .jp-Cell")
        expect(self.cells).to_have_count(len(cells))
        expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle")  # the kernel is up
        for _ in range(3):  # a key press before the page settles can get lost: retry this idempotent cell
            self.run_cell(0)
            try:
                expect(self.cells.nth(0).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"),
                                                                                 timeout=20_000)
                break
            except AssertionError:
                continue
        expect(self.cells.nth(0).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"))

    def run_cell(self, i: int) -> None:  # click the prompt, not the middle (a widget button may be there)
        self.cells.nth(i).locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Shift+Enter")

    def output(self, i: int):
        return self.cells.nth(i).locator(".jp-OutputArea-output")

    def close(self) -> None:
        self.ctx.close()


def test_widget_in_jupyterlab_controls_the_run(lab, tmp_path) -> None:
    from playwright.sync_api import expect, sync_playwright

    spec = _speculation_available()
    flags = "-n 80 --selector ei --tools tpe,qmc,random --seed 0" + (" --speculate" if spec else "")
    stop = 'asap_run.stop(wait=True)\nprint("stopped:", asap_run.done, len(asap_run.trials))'
    cells = ["%load_ext asap_lab", f"%%asap {flags}\n{OBJECTIVE}",
             'print("kernel free:", asap_run.running, 6 * 7)', CHECK, stop]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        nb = Lab(p, lab, tmp_path, cells)
        try:
            page, run_cell, output = nb.page, nb.run_cell, nb.output
            run_cell(1)
            w = nb.cells.nth(1).locator(".asap-w")
            expect(w).to_be_visible()
            expect(w.locator(".asap-proposals tbody tr[data-tool]")).to_have_count(3)
            expect(w.locator(".asap-rationale")).to_have_text(re.compile(r"\w{4,}"))
            expect(w.locator(".asap-status")).to_have_text("running")
            # the kernel is free while the loop runs
            run_cell(2)
            expect(output(2)).to_contain_text("kernel free: True 42")
            expect(w.locator("svg.asap-chart-trials path.asap-best")).to_have_count(1)
            expect(w.locator("svg.asap-chart-wall circle")).not_to_have_count(0)
            if spec:
                expect(w.locator(".asap-spec tbody tr").first).to_be_visible()
                assert w.locator(".asap-spec tbody tr.acc, .asap-spec tbody tr.rej").count() >= 1
            w.screenshot(path=str(ARTIFACTS / "widget_live.png"))
            # human control through the widget
            w.locator('tr[data-tool="qmc"] button[data-cmd="override_tool"]').click()
            w.locator("input.asap-config").fill('{"x": 1.0, "y": -0.5}')
            w.locator('button[data-cmd="override_config"]').click()
            w.locator("input.asap-tau").fill("0.25")
            w.locator('button[data-cmd="freeze_tau"]').click()
            expect(w.locator(".asap-tau-state")).to_have_text("τ frozen at 0.25")
            run_cell(3)
            expect(output(3)).to_contain_text("STATE ")
            state = json.loads(output(3).inner_text().split("STATE ", 1)[1].strip().splitlines()[0])
            assert state["frozen"] is True and state["tau"] == 0.25
            assert state["human_tools"] == ["qmc", "human"] and state["applied"] == 2
            assert state["human_params"][1] == {"x": 1.0, "y": -0.5}
            assert state["running"] is True  # all of this happened while the loop ran
            expect(w.locator(".asap-notices li.lvl-ok")).not_to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "lab_controls.png"), full_page=True)
            run_cell(4)
            expect(output(4)).to_contain_text("stopped: True")
            expect(w.locator(".asap-status")).to_have_text("stopped")
            w.screenshot(path=str(ARTIFACTS / "widget_final.png"))
        finally:
            nb.close()


FLAKY = """\
import time
import asap_lab as al
calls = []

def objective(c):
    calls.append(c)
    time.sleep(0.2)
    if len(calls) % 2 == 0:
        raise ValueError("diverged: loss is nan")
    return (c["x"] - 1) ** 2

space = {"x": al.Float(-3, 3)}"""


def test_widget_in_jupyterlab_shows_failures_and_llm_fallbacks(lab, tmp_path) -> None:
    """Every other evaluation raises and the LLM server is down (nothing listens on its port):
    the widget shows the failure count and crosses, each failure's reason and each fallback's."""
    from playwright.sync_api import expect, sync_playwright

    dead = f"openai:http://127.0.0.1:{_free_port()}/v1#m"
    cells = ["%load_ext asap_lab", f"%%asap -n 6 --llm {dead} --tools tpe,qmc --seed 0\n{FLAKY}"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        nb = Lab(p, lab, tmp_path, cells)
        try:
            nb.run_cell(1)
            w = nb.cells.nth(1).locator(".asap-w")
            expect(w.locator(".asap-status")).to_have_text("done")
            expect(w.locator(".asap-kpi-failed")).to_have_text("3 failed")
            expect(w.locator(".asap-kpi-fallback")).to_have_text("6 LLM fallbacks")
            expect(w.locator("svg.asap-chart-trials path.asap-failed")).to_have_count(3)
            decision = w.locator(".asap-decision")
            expect(decision).to_contain_text("→ failed: ValueError: diverged: loss is nan")
            expect(decision).to_contain_text("fallback: LLMError")
            expect(decision.locator(".asap-who")).to_have_text("fallback")
            w.screenshot(path=str(ARTIFACTS / "widget_faults.png"))
            w.locator('button[title="previous round"]').click()  # round 4 succeeded
            expect(decision).to_contain_text("→ value")
            expect(decision).not_to_contain_text("failed")
        finally:
            nb.close()
