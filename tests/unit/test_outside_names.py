"""The names outside checks drive (issues 23, 24, 26): a bad value from the environment names its
variable and the value, an empty variable is unset, and the operator's history CLI takes its
options before or after the command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.config import Settings, SettingsError, settings_from_env
from agent.errors import UsageError
from agent.history import HistoryConfig, new_secret, open_store, owner_key, turns_from_runs
from agent.history.__main__ import main as history_main
from agent.history.config import history_config_from_env
from devtools.conversations import synthetic_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("var", ["DEEPSEARCH_READ", "DEEPSEARCH_READER", "DEEPSEARCH_CHECK_CLAIMS",
                                 "DEEPSEARCH_DIALECT", "DEEPSEARCH_BACKEND", "DEEPSEARCH_PROVIDER",
                                 "DEEPSEARCH_KV_CACHE", "DEEPSEARCH_LOAD_IN_4BIT"])
def test_a_bad_choice_in_the_environment_names_the_variable_and_the_value(var):
    with pytest.raises(SettingsError) as caught:
        settings_from_env({var: "bogus"})
    assert var in str(caught.value) and "'bogus'" in str(caught.value)


@pytest.mark.parametrize("url", ["notaurl", "ftp://judge.example/v1", "127.0.0.1:8000/v1"])
def test_a_judge_url_that_is_not_http_is_refused_at_start(url):
    with pytest.raises(SettingsError, match=re.escape(repr(url))):
        Settings(judge_base_url=url, judge_model="m")
    assert Settings(judge_base_url="http://127.0.0.1:8000/v1", judge_model="m").judge_model == "m"


def test_history_switches_read_empty_as_unset_and_refuse_anything_else(tmp_path):
    config = history_config_from_env({"DEEPSEARCH_HISTORY": "", "DEEPSEARCH_SHARE_LINKS": " ",
                                      "DEEPSEARCH_DATA_DIR": str(tmp_path)})
    assert (config.enabled, config.share_links) == (True, False)
    assert not history_config_from_env({"DEEPSEARCH_HISTORY": "0", "DEEPSEARCH_DATA_DIR": str(tmp_path)}).enabled
    for var in ("DEEPSEARCH_HISTORY", "DEEPSEARCH_SHARE_LINKS"):
        with pytest.raises(UsageError, match=f"{var}.*'maybe'"):
            history_config_from_env({var: "maybe", "DEEPSEARCH_DATA_DIR": str(tmp_path)})


def test_every_setting_the_code_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sources = [*ROOT.joinpath("agent").rglob("*.py"), *ROOT.joinpath("ui").rglob("*.py"), ROOT / "app.py"]
    named = {m for path in sources for m in re.findall(r"\bDEEPSEARCH_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}
    named.discard("DEEPSEARCH_X")  # ui/notices.py's example of the pattern, in a comment
    missing = sorted(v for v in named if f"`{v}" not in readme)
    assert not missing, f"README does not name {missing}"


def test_the_history_cli_takes_its_options_before_or_after_the_command(tmp_path, capsys):
    store = open_store(HistoryConfig(data_dir=tmp_path))
    owner, conversation = owner_key(new_secret()), None
    for timed in turns_from_runs(synthetic_run(q) for q in ("Alpha question", "Beta")):
        conversation = store.add_turn(owner, conversation, timed)
    store.close()
    for argv in (["--data-dir", str(tmp_path), "--json", "list"], ["list", "--data-dir", str(tmp_path), "--json"],
                 ["--json", "list", "--data-dir", str(tmp_path)]):
        assert history_main(argv) == 0
        (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert row["id"] == conversation and row["turns"] == 2
    # A later --data-dir wins, as with any repeated option.
    assert history_main(["--data-dir", str(tmp_path / "elsewhere"), "list", "--data-dir", str(tmp_path)]) == 0
    assert conversation in capsys.readouterr().out


@pytest.mark.parametrize("damage", [{"citation_recall": 1.5}, {"supported_claim_rate": -0.1},
                                    {"citation_precision": "high"}, {"uncited_sentences": -3}, {"tokens": -1}])
def test_a_resumed_eval_refuses_metrics_no_run_could_have_written(tmp_path, damage):
    from agent.eval.results import ResultsError, read_results

    row = {"id": "q1", "question": "Q?", "golden_answers": ["A"], "em": 1.0, "f1": 1.0, "subem": 1.0,
           "end": "answered", "citation_recall": 1.0, "citation_precision": None, "supported_claim_rate": 0.5,
           "uncited_sentences": 0, "tokens": 10}
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert read_results(path)["q1"]["supported_claim_rate"] == 0.5
    path.write_text(json.dumps({**row, **damage}) + "\n", encoding="utf-8")
    with pytest.raises(ResultsError, match="line 1 is not a result this tool wrote"):
        read_results(path)


def test_history_export_to_a_path_it_cannot_write_is_a_usage_error(tmp_path, capsys):
    store = open_store(HistoryConfig(data_dir=tmp_path))
    conversation = store.add_turn(owner_key(new_secret()), None, next(iter(turns_from_runs([synthetic_run("Q")]))))
    store.close()
    for target in (tmp_path / "missing" / "c.jsonl", tmp_path):
        assert history_main(["export", conversation, "-o", str(target), "--data-dir", str(tmp_path)]) == 2
        assert str(target) in capsys.readouterr().err
    assert history_main(["export", conversation, "-o", str(tmp_path / "c.jsonl"), "--data-dir", str(tmp_path)]) == 0
    assert '"type": "meta"' in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()[0]
