"""Optuna export: a real run written to SQLite and journal storages, read back with Optuna,
optuna.visualization and optuna-dashboard's HTTP API; incremental re-export; live mirroring."""

from __future__ import annotations

import datetime
import json
import math
import shutil
import threading
import urllib.request
import warnings
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import optuna
import pytest
from optuna.trial import TrialState as OptunaState

import asap_lab as al
from asap_lab import ConfigError, Run
from asap_lab.export import OptunaMirror, open_storage, to_optuna

SPACE = {
    "x": al.Float(-3, 3),
    "lr": al.Float(1e-4, 1e-1, log=True),
    "layers": al.Int(1, 8),
    "act": al.Categorical(["relu", "tanh", "gelu"]),
}
N = 10


def objective(c: dict[str, Any]) -> float:
    """Fails (raises) on deep tanh networks and large learning rates; otherwise a smooth loss."""
    if (c["act"] == "tanh" and c["layers"] >= 4) or c["lr"] > 0.05:
        raise ValueError(f"diverged with {c['layers']} {c['act']} layers at lr={c['lr']:.3g}")
    return (c["x"] - 1) ** 2 + 0.1 * c["layers"] + abs(math.log10(c["lr"]) + 2) + (c["act"] == "gelu")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real run with a journal and a live mirror into an Optuna journal file."""
    d = tmp_path_factory.mktemp("export")
    mirror = OptunaMirror(d / "mirror.log", "live")
    run = al.optimize(objective, SPACE, n_trials=N, tools=["tpe", "qmc"], selector="ei", seed=0,
                      journal=d / "run.jsonl", callbacks=[mirror])
    states = {t.state for t in run.trials}
    assert states == {al.TrialState.COMPLETE, al.TrialState.FAILED}, "the run needs both outcomes"
    return {"dir": d, "run": run, "mirror": mirror}


def _storage(d: Any, kind: str) -> str:
    return f"sqlite:///{d / 'runs.db'}" if kind == "sqlite" else str(d / "runs.log")


def check_study(study: optuna.Study, run: Run) -> None:
    """Every Optuna trial is the asap trial it came from."""
    assert study.direction.name.lower() == run.direction
    fts = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    assert len(fts) == len(run.trials)
    assert [ft.user_attrs["asap_number"] for ft in fts] == [t.number for t in run.trials]
    dists = run.space.to_optuna()
    for ft, t in zip(fts, run.trials, strict=True):
        assert ft.number == t.number
        assert ft.params == t.params
        for k, v in t.params.items():
            assert type(ft.params[k]) is type(v), (k, ft.params[k], v)
        assert isinstance(ft.params["layers"], int) and isinstance(ft.params["x"], float)
        assert ft.params["act"] in ("relu", "tanh", "gelu")
        assert ft.distributions == dists
        if t.ok:
            assert ft.state == OptunaState.COMPLETE and ft.value == t.value
            assert ft.user_attrs["error"] is None
        else:
            assert ft.state == OptunaState.FAIL and ft.value is None
            assert ft.user_attrs["error"] == t.error and "diverged" in t.error
        ua = ft.user_attrs
        assert (ua["tool"], ua["picked_by"], ua["rationale"]) == (t.tool, t.picked_by, t.rationale)
        assert ua["tool"] in ("tpe", "qmc") and ua["picked_by"] == "selector:ei" and ua["rationale"]
        assert ua["session"] == t.session and ua["timings"] == pytest.approx(t.timings)
        assert [p["tool"] for p in ua["proposals"]] == [p.tool for p in t.proposals]
        assert [p["params"] for p in ua["proposals"]] == [p.params for p in t.proposals]
        assert ft.datetime_start == datetime.datetime.fromtimestamp(t.start)
        assert ft.datetime_complete == datetime.datetime.fromtimestamp(t.end)
    best = run.best_trial
    assert best is not None and study.best_trial.user_attrs["asap_number"] == best.number
    assert study.best_value == run.best_value


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_export_every_trial_loads_back(exported: dict[str, Any], tmp_path, kind: str) -> None:
    run = exported["run"]
    storage = _storage(tmp_path, kind)
    to_optuna(run, storage, "asap-run")
    if kind == "journal":
        storage = optuna.storages.journal.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "runs.log")))
    study = optuna.load_study(study_name="asap-run", storage=storage)
    check_study(study, run)
    ua = study.user_attrs
    assert ua["asap_space"] == run.space.to_dict() and ua["asap_direction"] == "minimize"
    assert ua["asap_tools"] == ["tpe", "qmc"] and ua["asap_source"] == str(run.journal)
    assert ua["asap_stats"]["n_trials"] == N and ua["asap_stats"]["n_failed"] == run.stats["n_failed"]
    assert ua["asap_stats"]["best_number"] == run.best_trial.number and ua["asap_version"] == al.__version__
    json.dumps(ua)  # strict JSON throughout


def _same_trials(a: optuna.Study, b: optuna.Study, *, times: bool = True) -> None:
    ta, tb = a.get_trials(deepcopy=False), b.get_trials(deepcopy=False)
    assert len(ta) == len(tb) > 0
    for x, y in zip(ta, tb, strict=True):
        assert (x.number, x.state, x.value, x.params, x.distributions) == (
            y.number, y.state, y.value, y.params, y.distributions)
        assert x.user_attrs == y.user_attrs
        if times:
            assert (x.datetime_start, x.datetime_complete) == (y.datetime_start, y.datetime_complete)


def test_export_from_journal_equals_export_from_run(exported: dict[str, Any], tmp_path) -> None:
    run = exported["run"]
    url = _storage(tmp_path, "sqlite")
    from_run = to_optuna(run, url, "from-run")
    from_journal = to_optuna(run.journal, url, None)  # default name: the journal's stem
    assert from_journal.study_name == "run"
    _same_trials(from_run, from_journal)
    check_study(optuna.load_study(study_name="run", storage=url), run)


def test_asap_export_command(exported: dict[str, Any], tmp_path, capsys) -> None:
    from asap_lab.cli import main

    run, log = exported["run"], str(tmp_path / "cli.log")
    assert main(["export", str(run.journal), log, "--study", "cli"]) == 0
    assert f"{N} trials in Optuna study 'cli'" in capsys.readouterr().out
    check_study(optuna.load_study(study_name="cli", storage=open_storage(log)), run)
    assert main(["export", str(run.journal), str(tmp_path / "runs.db")]) == 2  # not a URL: one line
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("asap: error: storage") and "sqlite:///" in err[0]


def test_torn_journal_exports_the_good_part(exported: dict[str, Any], tmp_path) -> None:
    p = tmp_path / "torn.jsonl"
    shutil.copy(exported["run"].journal, p)
    with open(p, "ab") as fh:
        fh.write(b'{"type":"trial","trial":{"number":10,"par')
    with pytest.warns(RuntimeWarning, match="torn last line"):
        study = to_optuna(p, _storage(tmp_path, "journal"))
    assert len(study.trials) == N and study.study_name == "torn"


def test_reexport_is_incremental_and_idempotent(exported: dict[str, Any], tmp_path) -> None:
    run = exported["run"]
    url = _storage(tmp_path, "sqlite")
    first = to_optuna(run.trials[:4], url, "inc", space=run.space, direction="minimize")
    assert [t.user_attrs["asap_number"] for t in first.trials] == [0, 1, 2, 3]
    ids = [t._trial_id for t in first.trials]
    study = to_optuna(run, url, "inc")
    assert [t._trial_id for t in study.trials][:4] == ids
    again = to_optuna(run.journal, url, "inc")
    assert len(again.trials) == N
    check_study(optuna.load_study(study_name="inc", storage=url), run)


def test_mirror_gives_the_posthoc_trials(exported: dict[str, Any], tmp_path) -> None:
    run, mirror = exported["run"], exported["mirror"]
    assert mirror.error is None and mirror.n_added == N
    live = optuna.load_study(study_name="live", storage=optuna.storages.journal.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(exported["dir"] / "mirror.log"))))
    check_study(live, run)
    _same_trials(live, to_optuna(run, _storage(tmp_path, "sqlite"), "posthoc"))
    assert live.user_attrs["asap_stats"]["n_trials"] == N  # written at run_end
    # exporting the run into the mirrored study adds nothing
    assert len(to_optuna(run, str(exported["dir"] / "mirror.log"), "live").trials) == N


def test_mirror_resumes_without_duplicates(tmp_path) -> None:
    url, jr = _storage(tmp_path, "sqlite"), tmp_path / "r.jsonl"
    r1 = al.optimize(objective, SPACE, n_trials=4, tools=["random"], seed=1, journal=jr,
                     callbacks=[OptunaMirror(url, "resumed")])
    m2 = OptunaMirror(url, "resumed")
    r2 = al.optimize(objective, SPACE, n_trials=7, tools=["random"], seed=1, journal=jr, callbacks=[m2])
    assert len(r1.trials) == 4 and len(r2.trials) == 7 and m2.n_added == 3 and m2.error is None
    study = optuna.load_study(study_name="resumed", storage=url)
    assert [t.user_attrs["asap_number"] for t in study.trials] == list(range(7))
    assert [t.params for t in study.trials] == [t.params for t in r2.trials]
    # a mirror attached only to the resumed session adds the earlier trials first (run_start
    # carries them), so Optuna numbers still equal asap numbers
    m3 = OptunaMirror(url, "late")
    r3 = al.optimize(objective, SPACE, n_trials=8, tools=["random"], seed=1, journal=jr, callbacks=[m3])
    late = optuna.load_study(study_name="late", storage=url)
    numbers = [t.user_attrs["asap_number"] for t in late.trials]
    assert numbers == list(range(8)) == [t.number for t in r3.trials]
    assert [t.number for t in late.trials] == list(range(8)) and m3.n_added == 8


def test_mirror_of_a_speculative_simulated_run(tmp_path) -> None:
    url = _storage(tmp_path, "sqlite")
    mirror = OptunaMirror(url, "spec")
    t0 = datetime.datetime.now()
    run = al.optimize(objective, SPACE, n_trials=6, tools=["random", "qmc"], seed=4, speculate=True,
                      simulate={"eval_s": 5.0}, callbacks=[mirror])
    assert mirror.error is None and mirror.n_added == 6
    live = optuna.load_study(study_name="spec", storage=url)
    _same_trials(live, to_optuna(run, optuna.storages.InMemoryStorage(), "spec"), times=False)
    assert [t.user_attrs["asap_number"] for t in live.trials] == list(range(6))
    # virtual start times (0 s, 5 s, ...) are not dates: the trials carry the export time
    assert all(t.datetime_start >= t0 - datetime.timedelta(seconds=1) for t in live.trials)


def test_mirror_of_a_parallel_run(tmp_path) -> None:
    mirror = OptunaMirror(_storage(tmp_path, "journal"), "par")
    run = al.optimize(objective, SPACE, n_trials=8, tools=["random", "qmc"], seed=6, executor="thread",
                      n_workers=2, callbacks=[mirror])
    assert mirror.error is None and mirror.n_added == 8
    by_number = sorted(mirror.study.trials, key=lambda t: t.user_attrs["asap_number"])
    posthoc = to_optuna(run, optuna.storages.InMemoryStorage(), "par").trials
    assert [t.user_attrs for t in by_number] == [t.user_attrs for t in posthoc]
    def key(ts: list[Any]) -> list[Any]:
        return [(t.params, t.state, t.value) for t in ts]

    assert key(by_number) == key(posthoc)


class FlakyStorage(optuna.storages.InMemoryStorage):
    """A storage whose disk 'fills up' after ``ok`` trials."""

    def __init__(self, ok: int) -> None:
        super().__init__()
        self.ok = ok

    def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
        if self.ok <= 0:
            raise OSError("No space left on device")
        self.ok -= 1
        return super().create_new_trial(study_id, template_trial)


@pytest.mark.parametrize("storage", ["flaky", "unreachable"])
def test_failing_mirror_never_breaks_the_run(tmp_path, storage: str) -> None:
    st: Any = FlakyStorage(ok=2) if storage == "flaky" else f"sqlite:///{tmp_path}/no/such/dir/x.db"
    mirror = OptunaMirror(st, "broken")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = al.optimize(objective, SPACE, n_trials=6, tools=["random"], seed=2, callbacks=[mirror])
    mine = [w for w in caught if "OptunaMirror" in str(w.message)]
    assert len(mine) == 1 and issubclass(mine[0].category, RuntimeWarning)
    assert "stopped mirroring" in str(mine[0].message) and len(run.trials) == 6
    if storage == "flaky":
        assert "No space left" in mirror.error and mirror.n_added == 2
        assert len(optuna.load_study(study_name="broken", storage=st).trials) == 2
    else:
        assert mirror.error.startswith("ConfigError: cannot open Optuna storage") and mirror.n_added == 0


def test_maximize_and_storage_object() -> None:
    def score(c: dict[str, Any]) -> float:
        try:
            return -objective(c)
        except ValueError:
            return 0.0

    run = al.optimize(score, SPACE, n_trials=5, tools=["random"], seed=3, direction="maximize")
    study = to_optuna(run, optuna.storages.InMemoryStorage())
    assert study.study_name == f"asap-{run.trials[0].session}"
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert [t.value for t in study.trials] == [t.value for t in run.trials]  # raw values, not losses
    assert study.best_trial.user_attrs["asap_number"] == run.best_trial.number


def test_refusals(exported: dict[str, Any], tmp_path) -> None:
    run = exported["run"]
    url = _storage(tmp_path, "sqlite")
    foreign = optuna.create_study(storage=url, study_name="foreign")
    foreign.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    with pytest.raises(ConfigError, match=r"1 trial\(s\) not exported by asap; pass overwrite=True"):
        to_optuna(run, url, "foreign")
    replaced = to_optuna(run, url, "foreign", overwrite=True)
    check_study(replaced, run)
    optuna.create_study(storage=url, study_name="maxi", direction="maximize")
    with pytest.raises(ConfigError, match="direction maximize, not minimize"):
        to_optuna(run, url, "maxi")
    other = al.optimize(objective, SPACE, n_trials=2, tools=["random"], seed=5)
    with pytest.raises(ConfigError, match=r"already holds an asap trial #0 with other parameters"):
        to_optuna(other, url, "foreign")
    with pytest.raises(ConfigError, match="another search space"):
        to_optuna(other.trials, url, "foreign", space={"x": al.Float(-3, 3)})
    with pytest.raises(ConfigError, match="neither an Optuna storage URL"):
        to_optuna(run, tmp_path / "x.db")
    with pytest.raises(ConfigError, match="is an asap journal"):
        to_optuna(run, run.journal)
    with pytest.raises(ConfigError, match="does not exist"):
        to_optuna(tmp_path / "missing.jsonl", url)
    with pytest.raises(ConfigError, match="needs space="):
        to_optuna(run.trials, url)
    with pytest.raises(ConfigError, match="a Run, a list of Trials or an asap journal path"):
        to_optuna(42, url)
    with pytest.raises(ConfigError, match="study name"):
        OptunaMirror(url, "")
    with pytest.raises(ConfigError, match="BaseStorage"):
        OptunaMirror(3.5, "x")


def test_optuna_visualization_builds(exported: dict[str, Any], tmp_path) -> None:
    study = to_optuna(exported["run"], _storage(tmp_path, "journal"), "viz")
    n_ok = sum(t.ok for t in exported["run"].trials)
    if optuna.visualization.is_available():
        fig = optuna.visualization.plot_optimization_history(study)
        assert len(fig.data[0].x) == n_ok
    elif _matplotlib_available():
        ax = optuna.visualization.matplotlib.plot_optimization_history(study)
        assert ax.get_title()
    else:
        pytest.skip("neither plotly nor matplotlib is installed (optuna.visualization needs one)")


def _matplotlib_available() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.visualization.matplotlib.is_available()


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_optuna_dashboard_reads_the_export(exported: dict[str, Any], tmp_path, kind: str) -> None:
    dashboard = pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is not installed "
                                    "(pip install -e '.[export]')")
    run = exported["run"]
    to_optuna(run, _storage(tmp_path, kind), "dash")
    # the storage string as `optuna-dashboard STORAGE` takes it: a URL or a journal file's path
    server = make_server("127.0.0.1", 0, dashboard.wsgi(_storage(tmp_path, kind)), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with urllib.request.urlopen(f"{base}/api/studies", timeout=30) as r:
            studies = json.load(r)["study_summaries"]
        (summary,) = [s for s in studies if s["study_name"] == "dash"]
        with urllib.request.urlopen(f"{base}/api/studies/{summary['study_id']}", timeout=30) as r:
            detail = json.load(r)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert detail["name"] == "dash" and detail["directions"] == ["minimize"]
    trials = detail["trials"]
    assert [t["number"] for t in trials] == [t.number for t in run.trials]
    for d, t in zip(trials, run.trials, strict=True):
        assert d["state"] == ("Complete" if t.ok else "Fail")
        if t.ok:
            assert d["values"] == [t.value]
        params = {p["name"]: p["param_external_value"] for p in d["params"]}
        assert params == {k: str(v) for k, v in t.params.items()}
        attrs = {a["key"]: a["value"] for a in d["user_attrs"]}
        assert attrs["tool"] == t.tool and attrs["picked_by"] == t.picked_by
        assert attrs["rationale"] == t.rationale and attrs["asap_number"] == str(t.number)
    assert [b["number"] for b in detail["best_trials"]] == [run.best_trial.number]
