"""SIGKILL of a real IPython kernel running ``%%asap`` with a journal, at random points, three
times; a fresh kernel runs the same cell and resumes: no finished trial is lost or evaluated
again. The kernel is started through jupyter_client, as JupyterLab starts it."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from asap_lab.testing.resume import LOGGING_OBJECTIVE, assert_resumed_cleanly, journal_trials

pytestmark = pytest.mark.slow

N = 14


class Kernel:
    """A python3 kernel with its client; ``run`` executes code and returns its stdout."""

    def __init__(self, cwd, env) -> None:
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=300)
        self.pid = int(self.run("import os; print(os.getpid())").strip())

    def run(self, code: str, timeout: float = 300) -> str:
        out: list[str] = []
        errors: list[str] = []

        def hook(msg) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        assert reply["content"]["status"] == "ok" and not errors, errors or reply["content"]
        return "".join(out)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        t0 = time.time()
        while self.km.is_alive() and time.time() - t0 < 20:
            time.sleep(0.05)
        assert not self.km.is_alive()
        self.close()

    def close(self) -> None:
        self.kc.stop_channels()
        if self.km.is_alive():
            self.km.shutdown_kernel(now=True)
        self.km.cleanup_resources()


def test_sigkilled_kernel_running_asap_resumes_from_the_journal(tmp_path) -> None:
    journal, calls = tmp_path / "run.jsonl", tmp_path / "calls.jsonl"
    # the EI selector: %%asap's default embedded LLM is tested elsewhere, and its cold first call
    # (~15-40 s here) would leave few rounds to kill in
    body = f"CALLS, SLEEP_S = {str(calls)!r}, 0.2\n" + LOGGING_OBJECTIVE
    cell = f"%%asap -n {N} --tools tpe,qmc,cmaes --selector ei --seed 3 --journal {journal}\n{body}"
    home = tmp_path / "home"
    for sub in ("ipython", "cfg", "rt"):
        (home / sub).mkdir(parents=True)
    env = {**os.environ, "IPYTHONDIR": str(home / "ipython"), "JUPYTER_CONFIG_DIR": str(home / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(home / "rt")}
    rng = random.Random(1)
    kills = 0
    for _ in range(3):
        k = Kernel(tmp_path, env)
        try:
            k.run("%load_ext asap_lab")
            k.run(cell)  # returns at once: the loop runs in the kernel's background thread
            target = max(journal_trials(journal), 0) + rng.randint(1, 3)
            deadline = time.time() + 90
            while journal_trials(journal) < target and time.time() < deadline:
                time.sleep(rng.uniform(0.01, 0.1))
            time.sleep(rng.uniform(0.0, 0.2))  # land anywhere: inside an evaluation or between
            assert journal_trials(journal) < N, "the run finished before it could be killed"
            k.kill()
            kills += 1
        finally:
            k.close()
    assert 3 <= journal_trials(journal) < N
    k = Kernel(tmp_path, env)
    try:
        k.run("%load_ext asap_lab")
        resumed = journal_trials(journal)
        k.run(cell)
        out = k.run("run = asap_run.result(timeout=120)\n"
                    "print(len(run.trials), sum(t.session == run.trials[-1].session for t in run.trials))")
        total, mine = map(int, out.split())
        assert total == N and mine == N - resumed  # this kernel evaluated only what was missing
        # the widget of the resumed run says how many trials came from the journal
        info = k.run("print(asap_run.widget.state.snapshot()['info']['resumed'])")
        assert int(info) == resumed
    finally:
        k.close()
    assert_resumed_cleanly(journal, calls, N, kills)
