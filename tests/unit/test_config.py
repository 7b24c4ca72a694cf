"""Settings: env vars, .env, flags, validation, and secrets kept out of sight."""

import pytest

from agent.config import ENV_VARS, Settings, SettingsError, settings_from_env


def test_env_vars_are_typed_and_flags_win():
    s = settings_from_env({"DEEPSEARCH_MAX_SEARCHES": "3", "DEEPSEARCH_TEMPERATURE": "0.2",
                           "DEEPSEARCH_DOUBLE_QUANT": "false"}, max_searches=7)
    assert (s.max_searches, s.temperature, s.double_quant) == (7, 0.2, False)


def test_bad_env_value_names_the_variable():
    with pytest.raises(SettingsError, match="DEEPSEARCH_MAX_SEARCHES='lots'"):
        settings_from_env({"DEEPSEARCH_MAX_SEARCHES": "lots"})


@pytest.mark.parametrize("kw,needle", [
    ({"backend": "gpt"}, "backend must be one of"),
    ({"temperature": 5.0}, "temperature"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"answer_reserve_tokens": 50000}, "answer_reserve_tokens"),
])
def test_invalid_settings_are_refused_with_the_value(kw, needle):
    with pytest.raises(SettingsError, match=needle):
        Settings(**kw)


def test_script_and_fixture_imply_backend_and_provider():
    s = settings_from_env({}, model_script="s.json", search_fixture="f.json")
    assert (s.backend, s.provider) == ("scripted", "fixture")


def test_secrets_never_in_repr_or_public_view():
    s = settings_from_env({"TAVILY_API_KEY": "tvly-CANARY123", "OPENAI_API_KEY": "sk-CANARY456"})
    assert s.has_tavily_key
    for text in (repr(s), str(s.public())):
        assert "CANARY" not in text


def test_dotenv_file_is_read_but_real_env_wins(tmp_path, monkeypatch):
    from agent.config import load_dotenv_file

    (tmp_path / ".env").write_text("DEEPSEARCH_MAX_SEARCHES=2\nDEEPSEARCH_TOP_K=7\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHON_DOTENV_DISABLED", raising=False)
    monkeypatch.setenv("DEEPSEARCH_TOP_K", "9")
    # Registered with monkeypatch first, so the value the file sets is undone afterwards.
    monkeypatch.setenv("DEEPSEARCH_MAX_SEARCHES", "")
    monkeypatch.delenv("DEEPSEARCH_MAX_SEARCHES")
    load_dotenv_file()
    s = settings_from_env()
    assert (s.max_searches, s.top_k) == (2, 9)


def test_every_env_var_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [v for v in ENV_VARS if f"`{v}`" not in readme]
    assert not missing, f"README configuration table lacks {missing}"
