"""Searching only your own uploads (issue 25.5): the ``uploads`` provider searches the documents
a browser session added and nothing else: not the web, not the operator's shared index. Before
any upload a search is an error the model is told about; the CLI and the eval, which have no
uploads, refuse the provider with one line that names their own way (``--provider local``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.__main__ import main as cli
from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.eval.__main__ import main as eval_cli
from agent.events import Done, SearchDone
from agent.index import DocumentIndex
from agent.session import ChatSession
from tests.integration.test_document_search import call

WORD = "zebrafinch"


def index_of(folder: Path, name: str, text: str) -> DocumentIndex:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    index = DocumentIndex(folder / "idx")
    index.add_file(folder / name)
    return index


class Watched(ScriptedBackend):
    """The scripted model, keeping the messages each question opened with."""

    def __init__(self, rounds: list[str], settings: Settings) -> None:
        super().__init__(rounds=rounds, settings=settings)
        self.opened: list[list[dict]] = []

    def start(self, messages, tools, **kw):  # type: ignore[no-untyped-def]
        self.opened.append(messages)
        return super().start(messages, tools, **kw)


def ask(settings: Settings, own: list[DocumentIndex]) -> tuple[list, Watched]:
    backend = Watched([call("web_search", WORD), "Found.\n</think>\n\nIt nests in reeds [1]."], settings)
    session = ChatSession(settings=settings, backend=backend)
    session.use_indexes(own)
    return list(session.ask(f"Where does the {WORD} nest?")), backend


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """An operator's index that also holds the word: it must not be searched."""
    with index_of(tmp_path / "shared", "shared.md", f"The {WORD} of the shared index nests in towers.") as index:
        return index.directory


def test_only_the_sessions_uploads_are_searched(tmp_path: Path, shared: Path) -> None:
    own = index_of(tmp_path / "mine", "mine.md", f"# My notes\n\nThe {WORD} nests in reeds by the lake.")
    settings = Settings(backend="scripted", provider="uploads", index_dir=str(shared), read="off")
    events, backend = ask(settings, [own])
    (done,) = [e for e in events if isinstance(e, SearchDone)]
    assert done.provider == "uploads" and done.error is None
    assert [r.file for r in done.results] == ["mine.md"]  # neither the web nor the shared index
    final = events[-1]
    assert isinstance(final, Done) and final.sources[0].kind == "document" and final.cited == (1,)
    system = backend.opened[0][0]["content"]
    assert "not the web" in system and "mine.md" in system and "shared.md" not in system
    own.close()


def test_before_any_upload_a_search_says_there_is_nothing_to_search(tmp_path: Path) -> None:
    events, _ = ask(Settings(backend="scripted", provider="uploads", read="off"), [])
    (done,) = [e for e in events if isinstance(e, SearchDone)]
    assert done.results == () and "no documents have been uploaded yet" in (done.error or "")
    assert isinstance(events[-1], Done)  # the run goes on and ends with the model's answer


def test_the_cli_refuses_it_and_names_its_own_way(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["Where?", "--provider", "uploads", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--provider local --index DIR" in err and "'uploads'" in err


def test_the_eval_refuses_it_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "q.jsonl"
    dataset.write_text(json.dumps({"id": "1", "question": "Who?", "golden_answers": ["Ann"]}) + "\n",
                       encoding="utf-8")
    assert eval_cli([str(dataset), "--out", str(tmp_path / "out"), "--provider", "uploads", "--no-progress"]) == 2
    assert "--provider local --index DIR" in capsys.readouterr().err
