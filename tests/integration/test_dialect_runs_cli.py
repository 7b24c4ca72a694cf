"""Search-R1 and ReSearch runs through the loop on the scripted backend: the same (integration part of test_dialect_runs.py)"""

import json
import subprocess
import sys

from tests.unit.test_dialect_runs import R1_ANSWER, R1_SEARCH


def test_cli_runs_a_dialect_from_the_flag_and_from_the_env(tmp_path):
    script, fixture = tmp_path / "s.json", tmp_path / "f.json"
    script.write_text(json.dumps([R1_SEARCH, R1_ANSWER]))
    fixture.write_text(json.dumps({"eiffel tower height": [
        {"title": "Eiffel", "url": "https://e.example/", "content": "330 m"}]}))
    from tests.integration.test_cli import cli

    for args, env in ((["--dialect", "search-r1"], {}), ([], {"DEEPSEARCH_DIALECT": "search-r1"})):
        p = cli("How tall?", "--json", "--model-script", str(script), "--search-fixture", str(fixture), *args,
                **env)
        assert p.returncode == 0, p.stderr
        done = json.loads(p.stdout.splitlines()[-1])
        assert done["answer"] == "330 metres" and done["sources"][0]["title"] == "Eiffel"
    p = cli("How tall?", "--dialect", "r1", "--model-script", str(script))
    assert p.returncode == 2 and "invalid choice: 'r1'" in p.stderr
    p = cli("How tall?", "--model-script", str(script), DEEPSEARCH_DIALECT="r1")
    assert p.returncode == 2 and "dialect must be one of" in p.stderr


def test_extract_answer_is_importable_for_evaluation():
    out = subprocess.run([sys.executable, "-c", "from agent.dialects import extract_answer;"
                          "print(extract_answer('research', '<answer>\\\\boxed{42}</answer>'))"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "42", out.stderr

