"""CLI terminal mode: escape sequences from the model or the web never reach the terminal
(issue 11.17), the answer's Markdown is rendered, and a reader that goes away ends the CLI
quietly."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.events import Answer, Done, Error, SearchDone, SearchStart, SourceRef, Thinking
from agent.terminal import TerminalPrinter, clean
from tests.engine_helpers import answer, call

ROOT = Path(__file__).resolve().parents[2]

# What hostile text tries: clipboard write, title change, screen clear, 8-bit CSI, DCS, cursor
# moves, a carriage return that overwrites the line, a bell, backspaces, a right-to-left override.
ESCAPES = {
    "osc52-clipboard": "\x1b]52;c;Y3VybCBldmlsLnNofHNo\x07",
    "osc-title-st": "\x1b]0;pwned\x1b\\",
    "csi-clear": "\x1b[2J\x1b[H",
    "csi-8bit": "\x9b2J",
    "osc-8bit": "\x9d0;pwned\x9c",
    "dcs": "\x1bP+q544e\x1b\\",
    "cursor": "\x1b[1A\x1b[999D",
    "carriage-return": "\rFAKE",
    "bell-backspace": "\x07\x08\x08",
    "bidi": "\u202etxt.exe",
    "lone-esc": "\x1b\n",
}
EVERY = "".join(ESCAPES.values())
# Anything that acts on a terminal: C0 but \n and \t, DEL, C1, bidi controls.
ACTIVE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("name", ESCAPES)
def test_clean_removes_each_sequence_whole(name: str) -> None:
    out = clean(f"before {ESCAPES[name]} after\n\tnext")
    assert not ACTIVE.search(out), repr(out)
    assert out.startswith("before ") and out.endswith("after\n\tnext")
    for leftover in ("52;c", "0;pwned", "2J", "+q544e", "999D"):
        assert leftover not in out


def hostile_events() -> list:
    ref = SourceRef(id=1, title=f"Title {EVERY}", url=f"https://example.com/{EVERY}")
    text = f"The answer {EVERY} is **here** [1]."
    # The answer arrives in small deltas, so sequences are split across them.
    deltas = [Answer(text=text[i:i + 3]) for i in range(0, len(text), 3)]
    return [
        Thinking(text=f"think {EVERY[:20]}"), Thinking(text=f"{EVERY[20:]} more"),
        SearchStart(query=f"query {EVERY}", round=1, max_searches=5),
        SearchDone(query=f"query {EVERY}", provider=f"prov{EVERY}", latency_s=0.1, results=(ref,)),
        SearchStart(query="q2", round=2, max_searches=5),
        SearchDone(query="q2", provider="fixture", latency_s=0.1, error=f"HTTP {EVERY} 503"),
        Error(message=f"oops {EVERY}"),
        *deltas,
        Done(answer=text, sources=(ref,), cited=(1,), searches=2),
    ]


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_no_field_reaches_the_terminal_raw(tty: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = FakeTty() if tty else io.StringIO()
    printer = TerminalPrinter(out)
    for event in hostile_events():
        printer(event)
    text = out.getvalue()
    own = re.sub(r"\x1b\[[0-9;]*m", "", text) if tty else text  # our own colours (SGR) only
    assert not ACTIVE.search(own), repr(ACTIVE.search(own))
    assert "The answer" in text and "Title" in text and "oops" in text and "HTTP" in text
    assert "pwned" not in text and "52;c" not in text


def test_the_answer_markdown_is_rendered() -> None:
    out = io.StringIO()
    printer = TerminalPrinter(out)
    text = ("The tower is **330 m** tall [1].\n\n| Part | Height |\n|---|---|\n| Top | 330 m |\n\n"
            "- first\n- second\n\n```\nkeep **this** as code\n```\n\nThe end.")
    source = SourceRef(id=1, title="Tower", url="https://tower.example/")
    printer(SearchDone(query="q", provider="p", latency_s=0.1, results=(source,)))
    for i in range(0, len(text), 5):
        printer(Answer(text=text[i:i + 5]))
    printer(Done(answer=text, sources=(source,), cited=(1,)))
    shown = out.getvalue()
    assert "The tower is 330 m tall [1]." in shown  # emphasis rendered, not printed as **
    assert "Part" in shown and "─" in shown and "|---|" not in shown  # a table, drawn
    assert "• first" in shown and "• second" in shown
    assert "keep **this** as code" in shown  # code stays verbatim
    assert shown.index("The tower") < shown.index("Part") < shown.index("first") < shown.index("The end.")
    assert "[x](javascript" not in shown


def test_a_stopped_answer_prints_what_was_written() -> None:
    out = io.StringIO()
    printer = TerminalPrinter(out)
    printer(Answer(text="Half an ans"))
    printer(Done(answer="Half an ans", stopped=True))
    assert "Half an ans" in out.getvalue() and "[stopped]" in out.getvalue()


# --------------------------------------------------------------------------- through the CLI


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    e.update(PYTHON_DOTENV_DISABLED="1", **extra)
    return e


def hostile_files(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([f"Let me look {EVERY}\n" + call(f"tower {EVERY}"),
                                  answer(f"It is **330 m** {EVERY} [1].")]))
    fixture = tmp_path / "fx.json"
    fixture.write_text(json.dumps({f"tower {EVERY}": [
        {"title": f"Tower {EVERY}", "url": "https://example.com/t", "content": "330 m"}]}))
    return script, fixture


def test_live_and_replayed_terminal_output_is_clean(tmp_path: Path) -> None:
    script, fixture = hostile_files(tmp_path)
    trace = tmp_path / "t.jsonl"
    live = subprocess.run([sys.executable, "-m", "agent", "How tall?", "--model-script", str(script),
                           "--search-fixture", str(fixture), "--trace", str(trace)],
                          cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert live.returncode == 0, live.stderr
    replayed = subprocess.run([sys.executable, "-m", "agent", "--replay", str(trace), "--speed", "0"],
                              cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stderr
    for out in (live.stdout, replayed.stdout):
        assert not ACTIVE.search(out), repr(ACTIVE.search(out))
        assert "It is 330 m" in out and "Tower" in out
        # Sequences split across streamed deltas are still removed whole.
        assert "Let me look FAKEtxt.exe" in out and "It is 330 m FAKEtxt.exe" in out
    assert live.stdout == replayed.stdout


def slow_cli(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "slow.json"
    # The first line ends at once (the terminal prints thinking as it comes, so a reader waiting
    # for a whole line would otherwise wait for the end of it); the rest keeps the run going.
    script.write_text(json.dumps(["A first line.\n" + "thinking " * 400 + "</think>" + "answer " * 400]))
    return subprocess.Popen([sys.executable, "-m", "agent", "q", *args, "--model-script", str(script)],
                            cwd=ROOT, env=env(DEEPSEARCH_SCRIPT_DELAY="0.01"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("mode", [["--json"], []], ids=["json", "terminal"])
@pytest.mark.parametrize("interrupt", [True, False], ids=["ctrl-c", "reader-left"])
def test_a_reader_that_goes_away_ends_it_quietly(tmp_path: Path, mode: list[str], interrupt: bool) -> None:
    """``--json | head`` and Ctrl-C: no BrokenPipe traceback, no 'Exception ignored' line."""
    proc = slow_cli(tmp_path, *mode)
    assert proc.stdout.readline()
    proc.stdout.close()  # the reader (head) has what it wanted and exits
    if interrupt:
        proc.send_signal(signal.SIGINT)  # Ctrl-C reaches every process of the pipeline
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


def test_document_search_prints_no_escape_sequences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same class as 11.17 in ``python -m agent.index search``: passages are untrusted text."""
    from agent.index.__main__ import main as index_main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / f"zebra{ESCAPES['osc-title-st']}.txt").write_text(f"Zebras {EVERY} live in Africa.\n", encoding="utf-8")
    idx = str(tmp_path / "idx")
    assert index_main(["add", str(docs), "--index", idx]) == 0
    assert index_main(["search", "zebras", "--index", idx]) == 0
    assert index_main(["search", "zebras", "--index", idx, "--json"]) == 0
    out = capsys.readouterr().out
    assert "Zebras" in out and not ACTIVE.search(out), repr(ACTIVE.search(out))


@pytest.mark.parametrize("interrupt", [True, False], ids=["ctrl-c", "reader-left"])
def test_a_replay_whose_reader_goes_away_ends_quietly(tmp_path: Path, interrupt: bool) -> None:
    from agent.config import Settings
    from agent.records.trace import TraceWriter

    trace = tmp_path / "slow.jsonl"
    times = iter([0.0] + [i * 0.01 for i in range(2000)])
    with TraceWriter(trace, question="q", settings=Settings(backend="scripted"), model="m",
                     clock=lambda: next(times)) as writer:
        for _ in range(1500):
            writer.write(Thinking(text="thinking " * 20))
        writer.write(Done(answer="a"))
    proc = subprocess.Popen([sys.executable, "-m", "agent", "--replay", str(trace), "--json"], cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline()
    proc.stdout.close()
    if interrupt:
        proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
