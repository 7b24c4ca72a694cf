"""The page as a chat app lays it out, in a real browser at phone and desktop sizes: the page is
the window's height and never scrolls, a one-line top bar, the chat pane fills the rest and
scrolls inside (following a streaming answer), the composer stays at the bottom, and Settings,
Documents and the downloads stay reachable. Demo mode (its on-screen banner included)."""

from __future__ import annotations

import pytest

from tests.browser.test_ui_browser import (ANSWER, DONE_JS, ask, chat_quiet, close, open_drawer, page_for,
                                          scroll_chat_to_top, settle, wait_done)
from tests.ui_helpers import serve

from ui.startup import NO_GPU
from agent.config import Settings

PHONE, SMALL_PHONE, LANDSCAPE, DESKTOP = (390, 844), (360, 740), (844, 390), (1280, 800)
# Where the page stands: document against window, the chat pane's scroll, the parts' boxes.
GEOMETRY_JS = """() => {
  const box = (s) => { const e = document.querySelector(s); if (!e || !e.getClientRects().length) return null;
                       const b = e.getBoundingClientRect(); return {top: b.top, bottom: b.bottom, left: b.left,
                       right: b.right, height: b.height}; };
  const log = document.querySelector('#chat [role=log]');
  return {docHeight: document.documentElement.scrollHeight, docWidth: document.documentElement.scrollWidth,
          scrollY: window.scrollY, height: innerHeight, width: innerWidth,
          logGap: log.scrollHeight - log.scrollTop - log.clientHeight,
          logScrolls: log.scrollHeight > log.clientHeight + 1,
          topbar: box('#topbar'), chat: box('#chat'), composer: box('#composer'), banner: box('#banner')};
}"""


@pytest.fixture(scope="module")
def demo_mode():
    # Slow enough that the answer streams over many frames, so the pane is seen following it: at
    # the demo's own pace (0.01 s a chunk) the page beside two busy loops sampled 3 frames, not 5.
    demo, url = serve(Settings(script_delay_s=0.02), demo_reason=NO_GPU)
    yield url
    demo.close()

# Where the chat pane is scrolled to, and how far that is from its end.
LOG_JS = "(() => { const l = document.querySelector('#chat [role=log]'); " \
         "return {top: l.scrollTop, gap: l.scrollHeight - l.scrollTop - l.clientHeight}; })()"


def geometry(page) -> dict:
    return page.evaluate(GEOMETRY_JS)


def assert_chat_app_layout(g: dict, *, min_chat: float) -> None:
    """The page is the window; the top bar is one line; the chat takes the height; the composer is
    whole and at the bottom (only the downloads' line and Gradio's footer may be below it)."""
    assert g["docHeight"] <= g["height"] + 1 and g["scrollY"] == 0, g  # the page itself never scrolls
    assert g["docWidth"] <= g["width"] + 1, g  # nor sideways
    assert g["topbar"]["height"] <= 44, g["topbar"]  # one line
    assert g["chat"]["height"] >= min_chat, g["chat"]
    composer = g["composer"]
    assert composer["top"] >= g["chat"]["bottom"] and composer["bottom"] <= g["height"], composer
    assert composer["bottom"] >= g["height"] - 75, composer  # pinned at the bottom


def ask_and_watch(page, question: str) -> list[dict]:
    """Ask, and sample the layout at every change of the chat's elements until the answer is done
    (in the page, watching from before the question is sent: a slow test process or a starved
    page timer misses no frame); the last sample once the page stopped moving. A sample comes
    after the app's own follow (assets/ui.js), which sees the same changes first."""
    page.evaluate("""() => { const sample = %s; window.__samples = [];
        window.__watch = new MutationObserver(() => window.__samples.push(
            {...sample(), text: document.querySelector('#chat').innerText.length}));
        window.__watch.observe(document.querySelector('#chat'), {subtree: true, childList: true}); }"""
                  % GEOMETRY_JS)
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    wait_done(page)
    page.evaluate("window.__watch.disconnect()")
    settle(page)
    return [*page.evaluate("window.__samples"), geometry(page)]


def app_page(browser, url: str, size: tuple[int, int] = PHONE, **options):
    """A tab of ``size`` (a phone's by default) on the app at ``url``, its examples shown."""
    page = page_for(browser, url, viewport={"width": size[0], "height": size[1]}, **options)
    page.wait_for_selector("#chat .examples button")
    return page


def answered(page, question: str, *, before: int = 0) -> None:
    """Ask ``question`` in a chat holding ``before`` answers, and wait until its answer is done."""
    ask(page, question)
    page.wait_for_function(f"document.querySelectorAll('{ANSWER}').length > {before} && {DONE_JS}", timeout=60_000)


def answered_while(page, question: str, *scripts: str, until: str) -> None:
    """Ask ``question`` with ``scripts`` run in the page first (watchers that act as the answer
    streams), and wait until ``until`` (a page expression) holds and the answer is done."""
    for script in scripts:
        page.evaluate(script)
    ask(page, question)
    page.wait_for_function(until, timeout=30_000)
    wait_done(page)


def test_phone_is_a_full_height_chat_that_follows_a_streaming_answer(browser, demo_mode) -> None:
    page = app_page(browser, demo_mode, color_scheme="dark")
    first = geometry(page)
    assert_chat_app_layout(first, min_chat=0.6 * PHONE[1])
    assert first["banner"] and first["banner"]["height"] <= 40, first["banner"]  # the demo banner: one line
    assert page.locator("#app-header h1").bounding_box()["height"] <= 32  # the title on one line
    samples = ask_and_watch(page, "When was the first transatlantic telegraph cable completed?")
    grown = {g["text"] for g in samples if "text" in g}
    assert len(grown) >= 5, f"the answer should stream over several frames: the chat had {sorted(grown)} characters"
    for g in samples:  # while it streams and once it is done
        assert_chat_app_layout(g, min_chat=0.6 * PHONE[1])
    scrolling = [g for g in samples if g["logScrolls"]]
    assert len(scrolling) >= 3 and scrolling[-1] is samples[-1], "the chat pane should scroll inside"
    assert all(g["logGap"] <= 2 for g in scrolling), [g["logGap"] for g in scrolling]  # kept at the end
    assert "August 1858" in page.locator(ANSWER).last.inner_text()
    # Scrolled up, the reader stays where they are.
    scroll_chat_to_top(page)
    assert page.evaluate(LOG_JS)["top"] == 0
    close(page)


# The reader scrolls the chat to its top at the first change of the chat that finds the pane at its
# end and the chat 200 px longer than it (the app counts 80 px from the end as the end), in the
# page, so the scroll comes within a frame of that update; and notes when.
SCROLL_UP_AT_NEXT_CHANGE_JS = """() => {
  const log = document.querySelector('#chat [role=log]');
  window.__up = null;
  new MutationObserver((_, observer) => {
    if (log.scrollHeight - log.scrollTop - log.clientHeight > 2 || log.scrollHeight - log.clientHeight < 200) return;
    observer.disconnect();
    log.scrollTop = 0;
    window.__up = performance.now();
  }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""


def test_a_reader_who_scrolls_up_as_an_answer_streams_stays_there(browser, demo_mode) -> None:
    """Scrolled up just as the chat changed, the pane stays up while the answer streams on and
    after it ends: nothing scrolls it back to the end (Gradio's autoscroll did, 300 ms after an
    update that found the chat at its end)."""
    page = app_page(browser, demo_mode)
    answered_while(page, "Why is the sky blue?", SCROLL_UP_AT_NEXT_CHANGE_JS, until="window.__up !== null")
    chat_quiet(page)
    assert page.evaluate("window.__chatChanged > window.__up"), "the answer should have streamed on after the scroll"
    assert page.evaluate(LOG_JS)["top"] == 0
    assert "blue" in page.locator(ANSWER).last.inner_text().lower()
    close(page)


# A redraw of the chat, as Gradio may make one: every message hidden for two frames (long enough for
# the app's size watch to see the pane with nothing to scroll), then shown again; resolves to
# whether the pane had shrunk to nothing to scroll, once the messages are back.
REDRAW_JS = """() => new Promise((done) => {
  const log = document.querySelector('#chat [role=log]');
  const frames = (n, then) => n ? requestAnimationFrame(() => frames(n - 1, then)) : then();
  const rows = [...log.children];
  rows.forEach((row) => row.style.display = 'none');
  frames(2, () => {
    const shrunk = log.scrollHeight <= log.clientHeight;
    rows.forEach((row) => row.style.display = '');
    frames(2, () => done(shrunk));
  });
})"""
SCROLL_DOWN_AT_NEXT_CHANGE_JS = """() => {
  const log = document.querySelector('#chat [role=log]');
  window.__down = null;
  new MutationObserver((_, observer) => {
    if (window.__up === null) return;
    observer.disconnect();
    log.scrollTop = log.scrollHeight;
    window.__down = performance.now();
  }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""


def test_a_chat_drawn_anew_under_a_reader_scrolled_up_leaves_them_there(browser, demo_mode) -> None:
    """The chat shrinking for a moment (a redraw) brings its end to a reader who scrolled up;
    that is not the reader coming back to the end, so when the chat is whole again the pane stays
    where they left it."""
    page = app_page(browser, demo_mode)
    answered(page, "Why is the sky blue?")
    scroll_chat_to_top(page)
    assert page.evaluate(REDRAW_JS), "the redraw should have left the pane with nothing to scroll"
    settle(page)
    assert page.evaluate(LOG_JS)["top"] == 0
    close(page)


def test_the_reader_who_comes_back_to_the_end_or_asks_again_is_followed_again(browser, demo_mode) -> None:
    """Scrolled up and back down to the end while the answer streams, the pane follows it again
    to its end; scrolled up after it, a new question brings the pane to the new answer's end."""
    page = app_page(browser, demo_mode)
    answered_while(page, "Why is the sky blue?", SCROLL_UP_AT_NEXT_CHANGE_JS, SCROLL_DOWN_AT_NEXT_CHANGE_JS,
                   until="window.__down !== null")
    settle(page)
    assert page.evaluate("window.__chatChanged > window.__down"), "the answer should have streamed on after"
    assert page.evaluate(LOG_JS)["gap"] <= 2
    scroll_chat_to_top(page)
    answered(page, "When was the first transatlantic telegraph cable completed?", before=1)
    settle(page)
    assert "August 1858" in page.locator(ANSWER).last.inner_text()
    assert page.evaluate(LOG_JS)["gap"] <= 2
    close(page)


def test_a_pane_grown_to_show_the_end_follows_again(browser, demo_mode) -> None:
    """A reader a little above the end when the pane grows to show it (a phone's keyboard closing,
    the phone turned) is at the end: what the chat adds next is followed."""
    page = app_page(browser, demo_mode)
    answered(page, "Why is the sky blue?")
    page.evaluate("(() => { const l = document.querySelector('#chat [role=log]'); "
                  "l.scrollTop = l.scrollHeight - l.clientHeight - 150; })()")
    settle(page)
    assert page.evaluate(LOG_JS)["gap"] >= 140
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1] + 300})
    settle(page)
    assert page.evaluate(LOG_JS)["gap"] <= 2, "the taller pane should show the end"
    # The chat grows at its end, as an answer streaming on would.
    page.evaluate("(() => { const more = document.createElement('div'); more.style.height = '400px'; "
                  "document.querySelector('#chat [role=log]').lastElementChild.append(more); })()")
    settle(page)
    assert page.evaluate(LOG_JS)["gap"] <= 2
    close(page)


def test_editing_an_earlier_question_leaves_the_pane_where_the_reader_is(browser, demo_mode) -> None:
    """Opening the edit box of the first of two questions, read from the top of the chat, and
    cancelling it: the question becomes an edit box and back, which is no new question, so the
    pane stays at the top instead of jumping to the end."""
    page = app_page(browser, demo_mode)
    answered(page, "Why is the sky blue?")
    answered(page, "When was the first transatlantic telegraph cable completed?", before=1)
    scroll_chat_to_top(page)
    first = page.locator('#chat [data-testid="user"]').first
    first.hover()
    page.locator('#chat button[aria-label="Edit"]').first.click()
    page.wait_for_selector("#chat textarea.edit-textarea")
    settle(page)
    assert page.evaluate(LOG_JS)["gap"] >= 80, "opening the edit box should not move the chat to its end"
    page.locator('#chat button[aria-label="Cancel"]').first.click()
    page.wait_for_selector("#chat textarea.edit-textarea", state="detached")
    settle(page)
    assert page.evaluate(LOG_JS)["gap"] >= 80, "cancelling the edit should not move the chat to its end"
    assert first.inner_text().strip() == "Why is the sky blue?"
    close(page)


def test_the_clear_icon_never_covers_the_users_bubble(browser, demo_mode) -> None:
    page = app_page(browser, demo_mode, SMALL_PHONE)
    answered(page, "Why is the sky blue?")
    scroll_chat_to_top(page)
    overlaps = page.evaluate("""() => {
      const bubble = document.querySelector('#chat [data-testid=user]').getBoundingClientRect();
      return [...document.querySelectorAll('#chat button')].filter(b => b.getClientRects().length).filter(b => {
        const r = b.getBoundingClientRect();
        return r.left < bubble.right && r.right > bubble.left && r.top < bubble.bottom && r.bottom > bubble.top;
      }).map(b => b.getAttribute('aria-label') || b.innerText); }""")
    assert overlaps == []
    assert not page.locator('#chat button[aria-label="Clear"]').is_visible()  # New chat does its job
    close(page)


@pytest.mark.parametrize("size", [SMALL_PHONE, LANDSCAPE, DESKTOP], ids=["360x740", "landscape", "desktop"])
def test_every_size_keeps_the_page_still_and_the_drawer_reachable(browser, demo_mode, size) -> None:
    width, height = size
    page = app_page(browser, demo_mode, size)
    min_chat = 120 if height < 500 else 0.55 * height
    assert_chat_app_layout(geometry(page), min_chat=min_chat)
    page.locator("#banner summary").click()  # the demo banner's details: the chat gives way, the page stays
    assert_chat_app_layout(geometry(page), min_chat=100)
    page.locator("#banner summary").click()
    samples = ask_and_watch(page, "Why is the sky blue?")
    for g in samples:
        assert_chat_app_layout(g, min_chat=min_chat)
    assert samples[-1]["logScrolls"] and samples[-1]["logGap"] <= 2
    download = page.locator("#dl-trace").bounding_box()  # the downloads, on the page once there is an answer
    assert download and download["y"] >= 0 and download["y"] + download["height"] <= height and download["x"] >= 0
    # Settings, Documents and trace replay are one tap away, in a drawer that scrolls by itself.
    toggle = page.locator("#tools-toggle")
    assert toggle.get_attribute("aria-expanded") == "false" and not page.is_visible("#settings")
    toggle.click()
    page.wait_for_function("document.activeElement?.id === 'tools-close'")
    assert toggle.get_attribute("aria-expanded") == "true"
    settle(page)  # slid in
    assert page.locator("#tools-close").get_attribute("aria-label") == "Close settings"
    for part in ("#settings", "#replay-upload", "#documents"):
        page.locator(part).scroll_into_view_if_needed()
        box = page.locator(part).bounding_box()
        assert page.is_visible(part) and box["y"] >= -1 and box["y"] + min(box["height"], 40) <= height, (part, box)
    assert_chat_app_layout(geometry(page), min_chat=min_chat)  # the page under the drawer did not move
    page.keyboard.press("Escape")
    page.wait_for_function("document.activeElement?.id === 'tools-toggle'")
    page.wait_for_selector("#settings", state="hidden", timeout=30_000)  # slid out
    assert toggle.get_attribute("aria-expanded") == "false"
    close(page)


# The provider dropdown's shown text against its chevron: where the text's box ends (its measured
# width, clipped to the input's content box) and where the chevron starts.
CHEVRON_JS = """() => {
  const input = document.querySelector('#set-provider input');
  const chevron = document.querySelector('#set-provider .icon-wrap').getBoundingClientRect();
  const cs = getComputedStyle(input), box = input.getBoundingClientRect();
  const ctx = document.createElement('canvas').getContext('2d'); ctx.font = cs.font;
  const left = box.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft);
  const right = box.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
  const width = ctx.measureText(input.value).width;
  return {value: input.value, textEnd: Math.min(left + width, right), chevronStart: chevron.left,
          overflows: left + width > right, ellipsis: cs.textOverflow};
}"""


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_provider_dropdowns_text_ends_before_its_chevron(browser, demo_mode, size) -> None:
    page = page_for(browser, demo_mode, viewport={"width": size[0], "height": size[1]})
    open_drawer(page)
    page.click("#set-provider input")
    options = page.locator("ul[role=listbox] li")
    options.first.wait_for()
    labels = options.evaluate_all("els => els.map(e => e.innerText.trim())")
    longest = max(labels, key=len)
    assert longest.startswith("Auto (Tavily with a key"), labels
    options.filter(has_text=longest).first.click()
    page.wait_for_function(f"document.querySelector('#set-provider input').value === {longest!r}")
    page.click("#set-provider input")  # the list open again: Escape closes it, and only it
    page.wait_for_selector("ul[role=listbox] li")
    page.keyboard.press("Escape")
    page.wait_for_selector("ul[role=listbox]", state="detached")
    settle(page)  # a drawer sliding out would be moving still
    assert page.is_visible("#settings") and page.evaluate("document.body.classList.contains('tools-open')")
    found = page.evaluate(CHEVRON_JS)
    assert found["textEnd"] <= found["chevronStart"], found
    assert not found["overflows"] or found["ellipsis"] == "ellipsis", found  # cut text says so
    close(page)
