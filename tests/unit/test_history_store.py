"""The saved history's store: owners, branches, search, bounds, real deletion, damaged files."""

from __future__ import annotations

import json
import re
import os
import sqlite3
from pathlib import Path

import pytest

from agent.history import (HistoryConfig, HistoryError, HistoryFull, HistoryNotFound, HistoryUnavailable, new_secret, open_store,
                           owner_key, turn_from_run, turns_from_runs)
from agent.history.store import DB_NAME
from devtools.conversations import HOSTILE, meta_for, synthetic_run


def _store(folder: Path, **bounds):
    return open_store(HistoryConfig(data_dir=folder, **bounds))


def _save_chat(store, owner, questions):
    conversation = None
    turns = turns_from_runs(synthetic_run(q) for q in questions)
    for timed in turns:
        conversation = store.add_turn(owner, conversation, timed)
    return conversation, turns


def test_a_saved_conversation_reopens_with_its_turns_and_the_models_memory(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    conversation, turns = _save_chat(store, owner, ["First question", "Second question"])
    saved = store.load(owner, conversation)
    assert [t.turn.question for t in saved.path()] == ["First question", "Second question"]
    assert [t.turn.id for t in saved.path()] == [t.turn.id for t in turns]
    assert saved.path()[1].turn.parent == turns[0].turn.id
    # What the model remembers, so a follow-up continues the conversation.
    memory = saved.record.memory(max_turns=10)
    assert [role for role, _ in memory] == ["user", "assistant", "user", "assistant"]
    assert memory[0][1] == "First question" and "example.org" in memory[1][1] and "[1]" not in memory[1][1]
    # The display numbering comes back exactly: it is derived from the same events.
    assert saved.path()[0].turn.display_numbers == turns[0].turn.display_numbers
    assert saved.path()[0].times == turns[0].times
    assert store.list(owner)[0].title == "First question"


def test_nobody_reads_another_browsers_conversations(tmp_path):
    store = _store(tmp_path)
    mine, theirs = owner_key(new_secret()), owner_key(new_secret())
    conversation, _ = _save_chat(store, mine, ["private question"])
    assert store.list(theirs) == []
    for attempt in (lambda: store.load(theirs, conversation), lambda: store.delete(theirs, conversation),
                    lambda: store.rename(theirs, conversation, "x")):
        with pytest.raises(HistoryNotFound):
            attempt()
    with pytest.raises(HistoryNotFound):
        store.add_turn(theirs, conversation, turn_from_run(*synthetic_run("intrusion")))
    assert store.load(mine, conversation).summary.title == "private question"
    with pytest.raises(HistoryError, match='at least 16'):
        owner_key("short")


def test_search_finds_questions_and_answers_ignoring_case(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    a, _ = _save_chat(store, owner, ["Über die Eiffelturm Höhe"])
    b, _ = _save_chat(store, owner, ["Something else"])
    assert [s.id for s in store.list(owner, query="über DIE")] == [a]
    assert [s.id for s in store.list(owner, query="word3")] == [b, a]  # in both answers, newest first
    assert store.list(owner, query="nowhere at all") == []
    assert store.list(owner, query="%") == [] and store.list(owner, query="_") == []


def test_rename_keeps_one_clean_line_and_hostile_titles_are_stored_as_text(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    conversation, _ = _save_chat(store, owner, [f"q {HOSTILE}"])
    assert HOSTILE in store.list(owner)[0].title  # kept as written; every renderer escapes it
    assert store.rename(owner, conversation, "  new\n\x00title\u202e ") == "new title"
    assert store.rename(owner, conversation, "x" * 500).endswith("…")


def test_branches_share_a_parent_and_the_shown_one_is_remembered(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    conversation, turns = _save_chat(store, owner, ["root question", "follow-up A"])
    other = turn_from_run(*synthetic_run("follow-up B"), parent=turns[0].turn.id)
    other.fork_at = 3
    store.add_turn(owner, conversation, other)
    saved = store.load(owner, conversation)
    assert [t.turn.question for t in saved.path()] == ["root question", "follow-up B"]
    assert [t.question for t in saved.record.children(turns[0].turn.id)] == ["follow-up A", "follow-up B"]
    assert saved.turns[other.turn.id].fork_at == 3
    store.set_active(owner, conversation, turns[1].turn.id)
    assert [t.turn.question for t in store.load(owner, conversation).path()] == ["root question", "follow-up A"]


def test_deleting_really_deletes(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    marker = "UNIQUE-MARKER-7f3a9c"
    conversation, _ = _save_chat(store, owner, [f"{marker} question"])
    _save_chat(store, owner, ["kept question"])
    store.delete(owner, conversation)
    with pytest.raises(HistoryNotFound):
        store.load(owner, conversation)
    for path in tmp_path.glob(f"{DB_NAME}*"):
        assert marker.encode() not in path.read_bytes(), path.name
    assert [s.title for s in store.list(owner)] == ["kept question"]


def test_bounds_say_clearly_what_was_reached(tmp_path):
    store, owner = _store(tmp_path, max_conversations=2), owner_key(new_secret())
    _save_chat(store, owner, ["one"])
    _save_chat(store, owner, ["two"])
    with pytest.raises(HistoryFull, match="history is full .*2 conversations.*delete some"):
        _save_chat(store, owner, ["three"])
    assert len(store.list(owner_key(new_secret()))) == 0  # another browser is not affected
    _save_chat(store, owner_key(new_secret()), ["someone else's"])

    small = _store(tmp_path / "small", max_bytes=30_000)
    conversation, _ = _save_chat(small, owner, ["a"])
    with pytest.raises(HistoryFull, match="size limit"):
        for _ in range(50):
            small.add_turn(owner, conversation, turn_from_run(*synthetic_run("more")))
    huge = turn_from_run(*synthetic_run("huge", thinking_tokens=5000))
    with pytest.raises(HistoryFull, match="too large to save"):
        small.add_turn(owner, None, huge)


def test_a_damaged_database_is_moved_aside_untouched(tmp_path):
    garbage = b"this is not a database at all" * 100
    (tmp_path / DB_NAME).write_bytes(garbage)
    store, owner = _store(tmp_path), owner_key(new_secret())
    assert "moved aside" in store.notice and "damaged" in store.notice
    moved = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes() == garbage
    _save_chat(store, owner, ["works again"])
    assert store.list(owner)[0].title == "works again"


def test_a_newer_database_is_moved_aside_not_overwritten(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("CREATE TABLE future (x)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = (tmp_path / DB_NAME).read_bytes()
    store = _store(tmp_path)
    assert "newer version" in store.notice
    moved = [p for p in tmp_path.iterdir() if ".newer-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1 and moved[0].read_bytes() == before


def test_a_hostile_row_is_left_out_and_the_rest_reads(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    conversation, turns = _save_chat(store, owner, ["good", "bad", "after bad"])
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("UPDATE turns SET turn = ? WHERE id = ?", ['{"question": 5, "events": [{"type": "nope"}]}',
                                                         turns[1].turn.id])
    db.commit()
    db.close()
    saved = store.load(owner, conversation)
    assert [t.turn.question for t in saved.path()] == ["good"]
    assert len(saved.problems) == 2 and "turn 2 cannot be read" in saved.problems[0]


def test_share_tokens_are_long_and_revocable(tmp_path):
    store, owner = _store(tmp_path), owner_key(new_secret())
    conversation, _ = _save_chat(store, owner, ["shared"])
    token = store.share(owner, conversation)
    assert len(token) >= 22  # >= 128 bits in URL-safe base64 (this is 256)
    assert store.by_share_token(token).summary.id == conversation
    assert token not in (tmp_path / DB_NAME).read_bytes().decode("latin-1")  # only its hash is stored
    store.revoke(owner, conversation)
    with pytest.raises(HistoryNotFound):
        store.by_share_token(token)
    with pytest.raises(HistoryNotFound):
        store.by_share_token("guess")


def test_history_off_writes_nothing_and_unusable_folders_are_reported(tmp_path):
    with pytest.raises(HistoryUnavailable, match="turned off"):
        open_store(HistoryConfig(enabled=False, data_dir=tmp_path / "off"))
    assert not (tmp_path / "off").exists()
    missing = tmp_path / "not" / "yet"
    open_store(HistoryConfig(data_dir=missing)).close()
    assert (missing / DB_NAME).exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryUnavailable, match="cannot be created"):
        open_store(HistoryConfig(data_dir=blocker / "sub"))
    if os.geteuid() != 0:  # root writes anywhere
        readonly = tmp_path / "ro"
        readonly.mkdir()
        readonly.chmod(0o555)
        with pytest.raises(HistoryUnavailable, match="read-only"):
            open_store(HistoryConfig(data_dir=readonly))


def test_every_trace_version_becomes_turns(tmp_path):
    from agent.events import to_dict
    from agent.records.trace import read_runs

    meta, timed = synthetic_run("old one")
    lines = [json.dumps({**meta, "version": 1})]
    for t, event in timed:
        data = {**to_dict(event), "t": t}
        data.pop("end", None)  # version 1 did not record how a run ended
        data.pop("display_numbers", None)
        lines.append(json.dumps(data))
    path = tmp_path / "v1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    (turn,) = turns_from_runs(read_runs(path))
    assert turn.turn.question == "old one" and turn.turn.done is not None and turn.turn.done.end == "answered"
    store, owner = _store(tmp_path / "db"), owner_key(new_secret())
    conversation = store.add_turn(owner, None, turn)
    assert store.load(owner, conversation).path()[0].turn.done.answer == turn.turn.done.answer


def test_turn_times_follow_the_joined_events():
    meta = meta_for("q")
    from agent.events import Answer, Thinking

    timed = turn_from_run(meta, [(0.1, Thinking(text="a")), (0.5, Thinking(text="b")), (0.7, Answer(text="c"))])
    assert [type(e).__name__ for e in timed.turn.events] == ["Thinking", "Answer"]
    assert timed.times == [(0.1, 0.5), (0.7, 0.7)]


def test_a_turns_done_is_replaced_in_place_by_the_model_checks_and_only_by_its_owner(tmp_path):
    from dataclasses import replace

    from agent.claims import Claim

    store = _store(tmp_path)
    mine, theirs = owner_key(new_secret()), owner_key(new_secret())
    conversation, turns = _save_chat(store, mine, ["First question", "Second question"])
    target = turns[0].turn
    judged = replace(target.done, claims=(Claim(sentence="s", ids=(1,), verdict="contradicted", layer="judge",
                                                evidence=None, note="[1] says otherwise (the model)"),))
    before = store.list(mine)[0].bytes
    with pytest.raises(HistoryNotFound):
        store.replace_done(theirs, conversation, target.id, judged)
    store.replace_done(mine, conversation, target.id, judged)
    saved = store.load(mine, conversation)
    first = saved.path()[0]
    assert first.turn.done == judged and first.turn.done.claims[0].layer == "judge"
    assert len(first.turn.events) == len(target.events) and first.times == turns[0].times  # same place, same time
    assert saved.path()[1].turn.done == turns[1].turn.done  # the other turn is untouched
    assert store.list(mine)[0].bytes > before


def test_a_conversation_id_never_reads_as_a_command_line_option(monkeypatch):
    """`python -m agent.history export ID` takes the id as an argument: one beginning with "-"
    (a random URL-safe id did, about one time in 64) was read as an option and refused."""
    import secrets

    from agent.history.store import new_conversation_id

    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: "-cQXLKMxjyZD"[:n + 3])
    assert not new_conversation_id().startswith("-")
    monkeypatch.undo()
    ids = {new_conversation_id() for _ in range(2000)}
    assert len(ids) == 2000 and not any(i.startswith("-") for i in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{13}", i) for i in ids)
