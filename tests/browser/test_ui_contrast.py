"""WCAG contrast of the text the app styles itself, in light and dark mode, in a real browser.

Each piece of text is measured against what is really behind it: the background colours of its
ancestors, composited (a translucent banner over the page) down to the first opaque one. A
failure names the element, its text and the ratio, e.g. ``source card domain: span.d
"en.wikipedia.org" 3.1:1 (#94a3b8 on #f8fafc)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.test_ui_browser import close, open_drawer, open_panels, page_for, wait_done
from tests.browser.test_ui_chat import scripted
from tests.ui_helpers import free_port, serve

from ui.startup import NO_GPU
from agent.config import Settings

MINIMUM = 4.5  # WCAG AA for normal-size text; metadata is small
SCHEMES = ["light", "dark"]
# For every element under the given roots that has text of its own (or is a text field): its
# colour and the colour behind it, both composited on a canvas exactly as the page paints them.
CONTRAST_JS = """([name, selector, placeholder]) => {
  const canvas = document.createElement('canvas'); canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const paint = (layers) => { ctx.globalAlpha = 1; ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 1, 1);
    for (const [colour, alpha] of layers) { ctx.globalAlpha = alpha; ctx.fillStyle = colour; ctx.fillRect(0, 0, 1, 1); }
    return [...ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)]; };
  const alphaOf = (colour) => { ctx.clearRect(0, 0, 1, 1); ctx.globalAlpha = 1; ctx.fillStyle = colour;
    ctx.fillRect(0, 0, 1, 1); return ctx.getImageData(0, 0, 1, 1).data[3]; };
  const lum = (rgb) => { const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const hex = (rgb) => '#' + rgb.map(v => v.toString(16).padStart(2, '0')).join('');
  const behind = (el) => { const layers = []; let opacity = 1;
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e); opacity *= Number(cs.opacity);
      const bg = cs.backgroundColor; const a = alphaOf(bg);
      if (a > 0) layers.unshift([bg, 1]);
      if (a === 255) break;
    }
    return [layers, opacity]; };
  const ownText = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const shown = (el) => { const r = el.getBoundingClientRect(); const cs = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && cs.visibility === 'visible' && cs.clipPath === 'none' && cs.clip === 'auto'; };
  const results = [];
  for (const root of document.querySelectorAll(selector)) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      const field = el.matches('input:not([type=range]):not([type=file]), textarea');
      const empty = field && !el.value;
      if (!shown(el) || el.closest('svg') || !(field ? (placeholder ? empty : !empty) : ownText(el))) continue;
      const [layers, opacity] = behind(el);
      const bg = paint(layers);
      const colour = getComputedStyle(el, placeholder ? '::placeholder' : null).color;
      const fg = paint([...layers, [colour, opacity]]);
      const high = Math.max(lum(fg), lum(bg)), low = Math.min(lum(fg), lum(bg));
      const text = (field ? (el.value || el.placeholder) : el.innerText).trim().replace(/\\s+/g, ' ').slice(0, 40);
      results.push({name, ratio: (high + 0.05) / (low + 0.05),
                    element: `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${[...el.classList].filter(c => !c.startsWith('svelte-')).map(c => '.' + c).join('')}`,
                    text, fg: hex(fg), bg: hex(bg)});
    }
  }
  return results;
}"""


def measure(page, targets: dict[str, str], *, placeholder: bool = False) -> list[dict]:
    """Every target must have text to measure (else the check could never fail)."""
    found = []
    for name, selector in targets.items():
        results = page.evaluate(CONTRAST_JS, [name, selector, placeholder])
        assert results, f"{name}: nothing to measure at {selector!r}"
        found += results
    return found


def assert_readable(results: list[dict], scheme: str) -> None:
    named: dict[str, str] = {}  # an element under two targets is named once, by the first
    for r in results:
        if r["ratio"] < MINIMUM:
            named.setdefault(f'{r["element"]} "{r["text"]}" {r["ratio"]:.2f}:1 ({r["fg"]} on {r["bg"]})', r["name"])
    failing = [f"{name}: {what}" for what, name in named.items()]
    assert not failing, f"below {MINIMUM}:1 in {scheme} mode:\n" + "\n".join(failing)


@pytest.fixture
def answering(fast_ui: str) -> str:
    """The scripted run of the browser tests (chips, an invalid citation, a failed search, Stats)
    at full speed: the worker's shared ``fast_ui``."""
    return fast_ui


@pytest.fixture(scope="module")
def demo_mode():
    # Demo mode at (nearly) full speed: 0 would mean the demo's own pace, 0.01 s a chunk, and
    # every streamed frame costs the browser a redraw.
    demo, url = serve(Settings(script_delay_s=0.0001), demo_reason=NO_GPU)
    yield url
    demo.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_answers_metadata_is_readable(browser, answering, scheme) -> None:
    page = page_for(browser, answering, color_scheme=scheme)
    page.fill("#question textarea", "How tall is the Eiffel Tower?")
    page.keyboard.press("Enter")
    wait_done(page)
    open_panels(page)
    results = measure(page, {
        "panel titles": "#chat .thought-group > .title",
        "warning titles": "#chat .thought-group > .title .warn",
        "panel contents (search results, Sources list, Stats)": "#chat .thought-group .content",
        "citation chips": "#chat a.cite:not(.cite-missing)",
        "invalid-citation marks": "#chat .cite-missing",
        "source cards (number, title, domain)": "#chat .source-cards",
        "messages": "#chat [data-testid=user], #chat [data-testid=bot]",
        "meter": "#meter",
        "downloads": "#exports",
        "top bar": "#topbar",
    })
    page.fill("#question textarea", "x" * 250)  # near the limit: the counter shows
    page.wait_for_function("document.querySelector('#char-count').innerText.trim() === '250 / 300'")
    results += measure(page, {"character counter": "#char-count"})
    page.fill("#question textarea", "x" * 301)
    page.wait_for_selector("#char-count.over")
    results += measure(page, {"character counter over the limit": "#char-count.over"})
    assert_readable(results, scheme)
    close(page)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_first_screen_settings_and_documents_are_readable(browser, demo_mode, scheme,
                                                               tmp_path: Path) -> None:
    page = page_for(browser, demo_mode, color_scheme=scheme)
    page.wait_for_selector("#chat .examples button")
    results = measure(page, {"demo banner": "#banner", "examples cards": "#chat .examples",
                             "chat placeholder": "#chat .placeholder", "title and subtitle": "#app-header"})
    results += measure(page, {"question placeholder": "#question textarea"}, placeholder=True)
    page.locator("#banner summary").click()
    results += measure(page, {"demo banner, opened": "#banner details"})
    page.get_by_text("Why is the sky blue?").first.click()
    wait_done(page)
    results += measure(page, {"panel durations (the demo label)": "#chat .thought-group > .title .duration"})
    open_drawer(page)
    page.click("#documents .label-wrap")
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nNothing about money.\n", encoding="utf-8")
    page.set_input_files("#documents input[type=file]", str(notes))
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('notes.md')")
    page.wait_for_selector("#doc-list", state="visible")
    results += measure(page, {
        "drawer title": "#tools-head",
        "Settings info": "#settings-info",
        "Settings labels and values": "#settings",
        "trace replay": "#replay-upload",
        "Documents panel": "#documents",
        "Documents status": "#doc-status",
        "Documents list": "#doc-list",
    })
    assert_readable(results, scheme)
    close(page)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_notices_are_readable(browser, tmp_path: Path, scheme) -> None:
    """The startup problem banner, and the note under a cut-off answer."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    broken, broken_url = serve(Settings(backend="openai", base_url=dead, model="qwq", openai_max_retries=0),
                               check=True)
    script = tmp_path / "long.json"
    script.write_text(json.dumps(["Short thought.</think>\n\n" + "A long answer word " * 200]))
    cut, cut_url = serve(scripted(model_script=str(script), max_new_tokens=60))
    try:
        page = page_for(browser, broken_url, color_scheme=scheme)
        page.wait_for_selector("#problem")
        results = measure(page, {"startup problem banner": "#problem"})
        close(page)
        page = page_for(browser, cut_url, color_scheme=scheme)
        page.fill("#question textarea", "Write a lot")
        page.keyboard.press("Enter")
        wait_done(page)
        results += measure(page, {"note under a cut-off answer": "#chat .answer-note"})
        close(page)
        assert_readable(results, scheme)
    finally:
        broken.close()
        cut.close()
