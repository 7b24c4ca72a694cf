"""Ask and Stop flip in the browser, in the order things happen there (issue 21's race): as
server replies, the "idle" of an answer that had just ended could land after the "busy" of one
started that instant, and hide the Stop of the answer then running."""

from __future__ import annotations

from pathlib import Path

from agent.config import Settings
from ui.app_ui import BUSY_IF_ASKED_JS, BUSY_JS, IDLE_JS, build_ui
from ui.startup import make_runtime

DATA = Path(__file__).resolve().parents[1] / "data"


def test_every_ask_stop_flip_but_the_one_after_an_error_is_done_in_the_browser() -> None:
    runtime = make_runtime(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                    search_fixture=str(DATA / "ui.search.json"), provider="fixture"))
    blocks = build_ui(runtime)
    by_id = {getattr(block, "elem_id", None): block for block in blocks.blocks.values()}
    ask, stop, meter = by_id["ask"], by_id["stop"], by_id["meter"]
    flips = [f for f in blocks.fns.values() if ask in f.outputs and stop in f.outputs]
    on_server = [f.name for f in flips if f.fn is not None and meter not in f.outputs]
    assert not on_server, f"Ask/Stop set by a server reply, which can arrive late: {on_server}"
    scripts = {f.js for f in flips if f.fn is None}
    assert scripts == {BUSY_JS, BUSY_IF_ASKED_JS, IDLE_JS}
    # Each way of asking turns Ask into Stop (the question box's two unless it is blank), and each
    # ending turns it back.
    busy = [f for f in flips if f.js in (BUSY_JS, BUSY_IF_ASKED_JS)]
    assert len(busy) >= 7 and sum(f.js == IDLE_JS for f in flips) >= 7
    assert [f.inputs for f in busy if f.js == BUSY_IF_ASKED_JS] == [[by_id["question"]]] * 2
    # After an error a server reply is still needed: it clears the "Error" badge on the meter.
    after_error = [f for f in flips if meter in f.outputs]
    assert after_error and all(f.fn is not None for f in after_error)
    blocks.close()


def test_the_flips_show_one_button_of_the_two() -> None:
    assert "visible: false}, {__type__: 'update', visible: true}" in BUSY_JS
    assert "visible: true}, {__type__: 'update', visible: false}" in IDLE_JS
