"""Saved history and share player: ``python -m bench.history_bench [--conversations N] [--turns N]``.

Measures, on a fresh database in a temporary folder:
- listing one browser's N conversations (the history list's query, goal < 200 ms at N = 1,000),
  beside the same list with a text search;
- reopening a conversation of T turns (load + the record's memory + the chat's messages built
  by the UI's AnswerView, goal < 500 ms at T = 20);
- the player's size: bytes per event and per conversation, beside the HTML report of the same runs,
  and what one more branch adds to it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agent.history import HistoryConfig, new_secret, open_store, owner_key, turns_from_runs
from agent.player import player_html
from agent.records.report import export_runs
from devtools.conversations import synthetic_run


def _timed(fn, repeat: int = 7) -> float:
    """Median wall seconds of ``fn()``."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def bench(conversations: int = 1000, turns: int = 20) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="history-bench-"))
    store = open_store(HistoryConfig(data_dir=folder, max_conversations=conversations + 1, max_bytes=1 << 30))
    owner = owner_key(new_secret())
    small = turns_from_runs([synthetic_run("a question about something", thinking_tokens=5, answer_tokens=10)])[0]
    for i in range(conversations):
        small.turn.question = f"question {i} about something"
        small.turn.id = f"t{i}"
        store.add_turn(owner, None, small)
    long_runs = [synthetic_run(f"turn {i}", searches=2, results=5, thinking_tokens=400, answer_tokens=200)
                 for i in range(turns)]
    long_turns = turns_from_runs(long_runs)
    conversation = None
    for timed in long_turns:
        conversation = store.add_turn(owner, conversation, timed)

    from ui.saved import chat_messages  # the UI's own renderer of a reopened chat

    def reopen() -> None:
        saved = store.load(owner, conversation)
        saved.record.memory(max_turns=20)
        chat_messages(saved, max_searches=5)

    player = player_html("bench", long_turns[:3])
    events = sum(len(t.turn.events) for t in long_turns[:3])
    # The same file with another branch of its last turn (the share file holds every branch).
    last = long_turns[:3][-1]
    sibling = turns_from_runs([long_runs[len(long_turns[:3]) - 1]])[0]
    sibling.turn.parent = last.turn.parent
    branched = player_html("bench", [*long_turns[:3], sibling], head=last.turn.id)
    report = export_runs([(t.meta, list(t.turn.events)) for t in long_turns[:3]], "html")
    out = {
        "list_ms": 1000 * _timed(lambda: store.list(owner, limit=200)),
        "list_all_ms": 1000 * _timed(lambda: store.list(owner)),
        "search_ms": 1000 * _timed(lambda: store.list(owner, query="question 99")),
        "reopen_ms": 1000 * _timed(reopen),
        "player_bytes": float(len(player.encode())),
        "player_bytes_per_event": len(player.encode()) / events,
        "branch_bytes": float(len(branched.encode()) - len(player.encode())),
        "branch_bytes_per_event": (len(branched.encode()) - len(player.encode())) / max(1, len(sibling.turn.events)),
        "report_bytes": float(len(report.encode())),
    }
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.history_bench")
    p.add_argument("--conversations", type=int, default=1000)
    p.add_argument("--turns", type=int, default=20)
    args = p.parse_args(argv)
    r = bench(args.conversations, args.turns)
    print(f"history list, {args.conversations} conversations: newest 200 {r['list_ms']:.1f} ms, all "
          f"{r['list_all_ms']:.1f} ms (goal < 200), text search {r['search_ms']:.1f} ms")
    print(f"reopen a {args.turns}-turn conversation (load, memory, chat messages): {r['reopen_ms']:.1f} ms "
          "(goal < 500)")
    print(f"player of 3 turns: {r['player_bytes'] / 1024:.1f} KiB, {r['player_bytes_per_event']:.0f} bytes per "
          f"record event; the HTML report of the same turns {r['report_bytes'] / 1024:.1f} KiB "
          f"(player/report {r['player_bytes'] / r['report_bytes']:.2f}x)")
    print(f"another branch of its last turn adds {r['branch_bytes'] / 1024:.1f} KiB to the player, "
          f"{r['branch_bytes_per_event']:.0f} bytes per record event of that branch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
