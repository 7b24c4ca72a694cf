"""The share player in chromium: it plays to the end, speed changes the pace, scrubbing and the URL
hash land on the right event, it reads without JavaScript, and it makes no request at all, hostile
text included."""

from __future__ import annotations

import re

import pytest

from agent.player import player_html
from agent.records.timed import turns_from_runs
from devtools.conversations import synthetic_run

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def player_file(tmp_path_factory):
    runs = [synthetic_run(f"Question {i}", searches=2, results=3, hostile=(i == 1), thinking_tokens=40,
                          answer_tokens=30, step_s=0.05) for i in range(3)]
    path = tmp_path_factory.mktemp("player") / "conversation.html"
    path.write_text(player_html("Question 0", turns_from_runs(runs)), encoding="utf-8")
    return path


@pytest.fixture
def page(browser, player_file):
    context = browser.new_context()
    page = context.new_page()
    page.requests = []  # every request the page makes, the file itself included
    page.on("request", lambda r: page.requests.append(r.url))
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: (page.problems.append(f"dialog {d.message}"), d.dismiss()))
    yield page
    context.close()


def _position(page) -> tuple[int, int]:
    shown, total = re.fullmatch(r"(\d+) / (\d+)", page.inner_text("#position")).groups()
    return int(shown), int(total)


def _assert_clean(page, player_file) -> None:
    assert page.requests == [player_file.as_uri()] or all(r.startswith(player_file.as_uri()) for r in page.requests)
    assert page.problems == []
    assert page.evaluate("window.pwned") is None


def test_it_plays_to_the_end_without_a_single_request(page, player_file):
    page.goto(f"{player_file.as_uri()}#e=0")
    assert _position(page)[0] == 0
    assert not page.locator("article.turn").first.is_visible()
    page.click("#speeds [data-speed='4']")
    page.click("#play")
    total = _position(page)[1]
    expect(page.locator("#position")).to_have_text(f"{total} / {total}", timeout=120_000)
    assert page.inner_text("#play") == "Play"  # it stopped by itself at the end
    assert page.locator("article.turn").count() == 3 and page.locator("article.turn").nth(2).is_visible()
    assert page.locator("article.turn").nth(2).locator("a.cite").count() > 0  # the chips typed out
    assert page.evaluate("location.hash") == f"#e={total}"
    _assert_clean(page, player_file)


def test_speed_changes_the_pace(page, player_file):
    page.clock.install()
    page.goto(f"{player_file.as_uri()}#e=0")
    page.click("#play")
    page.clock.run_for(3000)
    at_1x = _position(page)[0]
    page.click("#play")  # pause
    page.keyboard.press("Home")
    assert _position(page)[0] == 0
    page.click("#speeds [data-speed='4']")
    page.click("#play")
    page.clock.run_for(3000)
    at_4x = _position(page)[0]
    assert at_1x >= 1 and at_4x >= 3 * at_1x, (at_1x, at_4x)
    page.click("#speeds [data-speed='0']")
    page.clock.run_for(100)
    assert _position(page)[0] == _position(page)[1]  # instant: at the end at once


def test_scrubbing_and_the_hash_land_on_the_right_event(page, player_file):
    page.goto(player_file.as_uri())
    total = _position(page)[1]
    target = total // 2
    page.eval_on_selector("#scrub", "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", target)
    assert _position(page)[0] == target and page.evaluate("location.hash") == f"#e={target}"
    shown = page.eval_on_selector_all("[data-ev]", "els => els.filter(e => !e.hidden).map(e => +e.dataset.ev)")
    hidden = page.eval_on_selector_all("[data-ev]", "els => els.filter(e => e.hidden).map(e => +e.dataset.ev)")
    assert max(shown) == target - 1 and min(hidden) >= target
    page.keyboard.press("ArrowRight")
    assert _position(page)[0] == target + 1
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert _position(page)[0] == target - 1
    page.goto(f"{player_file.as_uri()}#e=7")  # a link to a moment
    page.reload()
    assert _position(page)[0] == 7
    _assert_clean(page, player_file)


def test_without_javascript_it_shows_the_finished_conversation(browser, player_file):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(player_file.as_uri())
    assert not page.locator("#player").is_visible()  # no controls that cannot work
    answers = page.locator("section.answer")
    assert answers.count() == 3 and all(answers.nth(i).is_visible() for i in range(3))
    assert "word29" in answers.nth(2).inner_text()
    # Hostile text is text: the script and the image are shown, never run or loaded.
    assert "<script>window.pwned=1</script>" in page.locator("article.turn").nth(1).inner_text()
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    context.close()


def test_a_strict_policy_allows_only_the_files_own_script_and_style(player_file):
    html = player_file.read_text(encoding="utf-8")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in policy and "unsafe" not in policy
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing to fetch
    assert 'href="javascript:' not in html
