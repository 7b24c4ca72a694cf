"""The on-disk document index: formats, incremental adds, bad files, the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.index import DocumentIndex, IndexUnavailable
from agent.index.__main__ import main
from agent.index.passages import MAX_WORDS, Section, split_sections
from tests.index_helpers import encrypt_pdf, make_pdf, words, write_corpus


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "rodents.md").write_text(
        "# Rodents\n\nIntro words.\n\n## Capybara\n\nThe capybara is the largest living rodent.\n",
        encoding="utf-8")
    (folder / "animals.pdf").write_bytes(make_pdf(["Zebras live in Africa.", "Giraffes are tall."],
                                                  title="Animal facts"))
    (folder / "page.html").write_bytes(
        b"<html><head><title>Okapi page</title><style>.okapi{color:red}</style>"
        b"<script>var okapiTracker = 1;</script></head><body><nav>Home okapimenu</nav>"
        b"<h2>About</h2><p>The okapi is a forest giraffid.</p><footer>okapifooter</footer></body></html>")
    (folder / "plain.txt").write_text("Wombats produce cube-shaped droppings.", encoding="utf-8")
    write_corpus(folder / "wiki.jsonl", [("17", "Aardvark", "The aardvark digs burrows at night."),
                                         ("18", "Pangolin", "Pangolins are covered in scales.")])
    return folder


def test_every_format_is_indexed_with_file_page_heading_and_title(tmp_path: Path, docs: Path) -> None:
    with DocumentIndex(tmp_path / "idx") as index:
        outcomes = [index.add_file(p) for p in sorted(docs.iterdir())]
        assert [o.status for o in outcomes] == ["added"] * 5
        (giraffe,) = index.search("giraffes tall", k=1)
        assert (giraffe.file, giraffe.page, giraffe.title) == ("animals.pdf", 2, "Animal facts")
        (capy,) = index.search("largest rodent", k=1)
        assert (capy.file, capy.heading, capy.title) == ("rodents.md", "Capybara", "Rodents")
        (okapi,) = index.search("okapi", k=1)
        assert (okapi.title, okapi.heading, okapi.text) == ("Okapi page", "About",
                                                            "The okapi is a forest giraffid.")
        (aard,) = index.search("burrows", k=1)
        assert (aard.pid, aard.title, aard.file) == ("17", "Aardvark", "wiki.jsonl")
        assert index.search("wombat droppings", k=1)[0].file == "plain.txt"


def test_html_scripts_styles_and_navigation_are_not_text(tmp_path: Path, docs: Path) -> None:
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(docs / "page.html")
        for word in ("okapiTracker", "color", "okapimenu", "okapifooter"):
            assert index.search(word) == [], word


def test_passages_are_100_to_200_words_and_cover_the_text() -> None:
    text = words(1000)
    passages = split_sections([Section(text=text, page=3)], title="T", id_prefix="f.txt",
                              markdown_headings=False)
    sizes = [len(p.text.split()) for p in passages]
    assert all(40 <= n <= MAX_WORDS for n in sizes) and sum(sizes) == 1000
    assert all(100 <= n for n in sizes[:-1])
    assert " ".join(p.text for p in passages) == text
    assert {p.page for p in passages} == {3}


def test_re_adding_is_idempotent_and_a_changed_file_replaces_its_passages(tmp_path: Path) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_text("The first version mentions quokkas.", encoding="utf-8")
    with DocumentIndex(tmp_path / "idx") as index:
        assert index.add_file(doc).status == "added"
        assert index.add_file(doc).status == "unchanged"
        assert index.stats().passages == 1
        doc.write_text("The second version mentions numbats.", encoding="utf-8")
        assert index.add_file(doc).status == "updated"
        assert index.search("quokkas") == []
        assert index.search("numbats")[0].file == "notes.txt"
        assert (index.stats().documents, index.stats().passages) == (1, 1)
        assert index.remove(str(doc.resolve())) == 1
        assert index.search("numbats") == [] and index.stats().documents == 0


def test_the_index_persists_and_reopens_read_only(tmp_path: Path, docs: Path) -> None:
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(docs / "plain.txt")
    with DocumentIndex(tmp_path / "idx", read_only=True) as shared:
        assert shared.search("wombats")[0].file == "plain.txt"
        with pytest.raises(IndexUnavailable, match="read-only"):
            shared.add_file(docs / "rodents.md")
    with pytest.raises(IndexUnavailable, match="no index in"):
        DocumentIndex(tmp_path / "missing", read_only=True)


@pytest.mark.parametrize("name, data, reason", [
    ("secret.pdf", encrypt_pdf(make_pdf(["hidden text"]), "pw"), "encrypted with a password"),
    ("broken.pdf", b"%PDF-1.4\nthis is no pdf", "not a readable PDF"),
    ("half.pdf", make_pdf(["cut off"])[:200], "not a readable PDF"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ("report.docx", b"PK\x03\x04 zip", "unknown type '.docx'"),
    ("empty.md", b"   \n", "empty"),
    ("rows.jsonl", b'{"no": "contents"}\nnot json\n', "no corpus rows"),
])
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with DocumentIndex(tmp_path / "idx") as index:
        outcome = index.add_file(path)
        assert outcome.status == "skipped" and reason in outcome.message and name in outcome.message
        assert index.stats().documents == 0


def test_a_pdf_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    path = tmp_path / "open.pdf"
    path.write_bytes(encrypt_pdf(make_pdf(["Readable despite encryption"]), ""))
    with DocumentIndex(tmp_path / "idx") as index:
        assert index.add_file(path).status == "added"
        assert index.search("readable")[0].page == 1


def test_a_failed_add_loses_nothing_already_indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "keep.txt"
    doc.write_text("Original text about tardigrades.", encoding="utf-8")
    index = DocumentIndex(tmp_path / "idx")
    index.add_file(doc)
    doc.write_text(words(600), encoding="utf-8")
    calls = {"n": 0}

    def failing_rows(rows):
        for row in rows:
            calls["n"] += 1
            if calls["n"] == 2:
                raise sqlite3.OperationalError("disk I/O error")
            yield row

    real = index._db
    class Flaky:
        def __getattr__(self, name):
            return getattr(real, name)
        def executemany(self, sql, rows):
            return real.executemany(sql, failing_rows(rows))
        def __enter__(self):
            return real.__enter__()
        def __exit__(self, *exc):
            return real.__exit__(*exc)
    monkeypatch.setattr(index, "_db", Flaky())
    with pytest.raises(IndexUnavailable, match="disk I/O error"):
        index.add_file(doc)
    monkeypatch.setattr(index, "_db", real)
    assert index.search("tardigrades")[0].text == "Original text about tardigrades."
    assert index.stats().passages == 1
    assert index.add_file(doc).status == "updated"


def test_queries_with_fts_syntax_are_plain_words(tmp_path: Path, docs: Path) -> None:
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(docs / "plain.txt")
        for query in ('"', "NEAR(", "wombats AND", "col:x", "*", "-", "()", ""):
            index.search(query)
        assert index.search('wombats" OR (NOT')[0].file == "plain.txt"


def test_cli_add_search_stats_remove(tmp_path: Path, docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (docs / "notes.docx").write_bytes(b"PK")
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4 junk")
    idx = str(tmp_path / "idx")
    assert main(["add", str(docs), "--index", idx]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 file(s) of other types" in out and "skipped bad.pdf: not a readable PDF" in out
    assert "added animals.pdf (2 passages)" in out and "Traceback" not in out
    assert main(["add", str(docs / "plain.txt"), "--index", idx]) == 0
    assert "unchanged plain.txt" in capsys.readouterr().out
    assert main(["search", "zebras africa", "--index", idx, "--json", "--k", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits[0]["file"] == "animals.pdf" and hits[0]["page"] == 1
    assert main(["stats", "--index", idx, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 5 and stats["passages"] == 8 and stats["bytes_on_disk"] > 0
    assert main(["remove", str(docs / "animals.pdf"), "--index", idx]) == 0
    assert "2 passages" in capsys.readouterr().out
    assert main(["search", "zebras", "--index", idx]) == 0
    assert "no passages match" in capsys.readouterr().out


def test_cli_errors_are_one_line_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPSEARCH_INDEX", raising=False)
    assert main(["stats"]) == 2
    assert "--index DIR" in capsys.readouterr().err
    assert main(["search", "x", "--index", str(tmp_path / "none")]) == 2
    assert "no index in" in capsys.readouterr().err
    bad = tmp_path / "only.pdf"
    bad.write_bytes(b"junk")
    assert main(["add", str(bad), str(tmp_path / "ghost.txt"), "--index", str(tmp_path / "i")]) == 1
    out = capsys.readouterr().out
    assert "skipped only.pdf" in out and "no such file or folder" in out


def test_cli_reads_the_index_from_the_environment(tmp_path: Path, docs: Path) -> None:
    env = {"DEEPSEARCH_INDEX": str(tmp_path / "envidx"), "PATH": "/usr/bin:/bin"}
    root = Path(__file__).resolve().parents[2]
    for args in (["add", str(docs / "plain.txt")], ["stats", "--json"]):
        done = subprocess.run([sys.executable, "-m", "agent.index", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passages"] == 1


def test_a_word_in_half_the_passages_or_more_does_not_drown_a_query(tmp_path: Path) -> None:
    for i in range(4):
        extra = " The okapi hides here." if i == 2 else ""
        (tmp_path / f"n{i}.txt").write_text(f"Common words in note {i}.{extra}", encoding="utf-8")
    with DocumentIndex(tmp_path / "idx") as index:
        for i in range(4):
            index.add_file(tmp_path / f"n{i}.txt")
        assert len(index.search("common", k=10)) == 4  # nothing rarer: still answered
        (hit,) = index.search("common okapi", k=10)  # BM25 gives "common" no weight: left out
        assert hit.file == "n2.txt"
        assert index.query_terms("Common OKAPI okapis") == ["okapi"]
        index.remove(str((tmp_path / "n2.txt").resolve()))
        index.add_file(tmp_path / "n2.txt")  # counts are refreshed after every write
        assert index.search("common okapi", k=10)[0].file == "n2.txt"
