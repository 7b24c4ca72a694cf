"""Control and bidi characters are defined once (agent/text/control.py); every renderer that
shows untrusted text on one line, in a terminal, in a JSON line or as a URL lets none through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.events import json_line
from agent.search.base import clean_text
from agent.terminal import clean
from agent.text.control import BIDI, one_line
from agent.text.safe_url import safe_http_url, visible_url

ROOT = Path(__file__).resolve().parents[2]
BIDI_AND_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI + "\u2028\u2029]")

# The same table for every renderer: each string hides a control, bidi or separator character.
HOSTILE = [
    "invoice\u202etxt.exe",  # RLO: shows as "invoiceexe.txt"
    "left\u2066isolate\u2069right\u200f",
    "bell\x07back\x08space\x1b[31mred\x1b[0m",
    "c1\x85next\x9bline",
    "line\u2028separator\u2029paragraph",
    "arabic\u061cmark\u200eLRM",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_bidi_or_separator_character_survives_a_one_line_label(text):
    assert not BIDI_AND_CONTROL.search(one_line(text)), repr(one_line(text))


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_or_bidi_character_reaches_the_terminal(text):
    shown = clean(text).replace("\n", "").replace("\t", "")
    assert not re.search("[\x00-\x1f\x7f-\x9f" + BIDI + "]", shown), repr(shown)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_json_line_escapes_them_and_reads_back_the_same(text):
    line = json_line({"title": text})
    assert not BIDI_AND_CONTROL.search(line), line
    assert json.loads(line) == {"title": text}


@pytest.mark.parametrize("text", HOSTILE)
def test_a_url_holding_one_is_no_link_and_shows_it_escaped(text):
    url = f"https://example.com/{text}"
    assert safe_http_url(url) is None
    assert not BIDI_AND_CONTROL.search(visible_url(url))


@pytest.mark.parametrize("text", HOSTILE)
def test_text_from_the_web_loses_its_controls(text):
    cleaned = clean_text(text, limit=1000)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", cleaned), repr(cleaned)


def test_the_ui_labels_use_the_same_rule():
    from ui.citations import escape_text

    assert "\u202e" not in escape_text("invoice\u202etxt.exe")


def test_no_module_defines_its_own_bidi_or_c1_class():
    """The character classes live in agent/text/control.py only; a second definition drifts."""
    own = re.compile(r"\\u202a-\\u202e|\\u2066-\\u2069|\\x7f-\\x9f")
    found = [str(f.relative_to(ROOT)) for top in ("agent", "ui") for f in (ROOT / top).rglob("*.py")
             if f.name != "control.py" and own.search(f.read_text(encoding="utf-8"))]
    found += ["app.py"] if own.search((ROOT / "app.py").read_text(encoding="utf-8")) else []
    assert not found, f"define control/bidi classes in agent/text/control.py, not in {found}"
