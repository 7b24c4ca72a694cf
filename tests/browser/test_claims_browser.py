"""The claims check in a real browser (issue 23): the summary line under the answer, a dashed
underline on each unsupported sentence only, its note on hover and on keyboard focus, readable
(4.5:1) in light and dark mode. Scripted backend; Debian's chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.config import Settings  # noqa: E402
from tests.browser.test_ui_browser import ANSWER, ask, close, page_for, wait_done  # noqa: E402
from tests.browser.test_ui_contrast import SCHEMES, assert_readable, measure  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def ui():
    demo, url = serve(Settings(backend="scripted", model_script=str(DATA / "claims.script.json"),
                               search_fixture=str(DATA / "eiffel.search.json"), provider="fixture",
                               script_delay_s=0.0))
    yield url
    demo.close()


# Focus the tabbable element just before ``e`` in the page's tab order (document order here: no
# positive tabindex on the page); returns its tag, or '' when there is none.
PREVIOUS_TABBABLE = """e => {
  const all = [...document.querySelectorAll('a[href], button, input, textarea, select, [tabindex]')]
    .filter(x => x.tabIndex >= 0 && !x.disabled && x.getClientRects().length);
  const before = all[all.indexOf(e) - 1];
  if (!before) return '';
  before.focus();
  return before.tagName;
}"""


def _rgb(colour: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", colour)[:3])


def _contrast(a: str, b: str) -> float:
    def lum(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    high, low = sorted((lum(_rgb(a)), lum(_rgb(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_summary_underline_and_note_on_hover_and_focus(browser, ui, scheme) -> None:
    page = page_for(browser, ui, color_scheme=scheme)
    ask(page, "How tall?")
    assert "· done" in wait_done(page)
    answer = page.locator(ANSWER).last
    summary = answer.locator(".claims-check")
    summary.wait_for()
    assert summary.inner_text() == ("0 of 2 cited claims found in their sources · 2 not found · "
                                    "1 sentence without a citation")
    flags = answer.locator(".claim-flag")
    texts = flags.all_inner_texts()
    assert len(texts) == 2 and texts[0].startswith("The Eiffel Tower is 300 m tall")
    assert texts[1].startswith("It has 2 antennas")
    assert "It is in Paris." not in " ".join(texts)  # uncited: not underlined
    assert flags.first.evaluate("e => getComputedStyle(e).textDecorationStyle") == "dashed"
    after = "e => getComputedStyle(e, '::after').content"
    assert flags.first.evaluate(after) in ("none", "normal", "")
    page.keyboard.press("Escape")
    flags.first.hover()
    note = flags.first.evaluate(after)
    assert "Not found in [1]" in note and "closest: “The tower is 330 metres" in note
    tip = flags.first.evaluate("e => { const s = getComputedStyle(e, '::after'); return [s.color, s.backgroundColor]; }")
    assert _contrast(*tip) >= 4.5
    # Keyboard: Tab from the focusable element before the second sentence reaches it; its note
    # shows, and is announced: a note's accessible name is its title, the same text.
    page.mouse.move(0, 0)
    assert flags.nth(1).evaluate(PREVIOUS_TABBABLE), "nothing focusable before the underlined sentence"
    page.keyboard.press("Tab")
    assert flags.nth(1).evaluate("e => e === document.activeElement")
    note = flags.nth(1).evaluate(after)
    assert "Not found in [2]" in note and "closest: “324 metres without antennas.”" in note
    assert flags.nth(1).evaluate("e => getComputedStyle(e, '::after').display") != "none"
    assert flags.nth(1).get_attribute("role") == "note"
    playwright_api.expect(flags.nth(1)).to_have_accessible_name(
        re.compile(r"^Not found in \[2\].* — closest: “324 metres without antennas\.”$"))
    assert_readable(measure(page, {"claims summary": "#chat .claims-check", "underlined sentences": "#chat .claim-flag"}),
                    scheme)
    close(page)


def test_the_setting_turns_the_check_off(browser, ui) -> None:
    from tests.browser.test_ui_browser import open_drawer

    page = page_for(browser, ui)
    open_drawer(page)
    page.click("#set-check-claims input")
    page.get_by_role("option", name="Off", exact=True).click()
    page.wait_for_function("document.querySelector('#set-check-claims input').value === 'Off'")
    ask(page, "How tall?")
    assert "· done" in wait_done(page)
    answer = page.locator(ANSWER).last
    assert "300 m tall" in answer.inner_text()
    assert answer.locator(".claims-check, .claim-flag").count() == 0
    close(page)
