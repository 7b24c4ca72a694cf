"""The share player of a conversation with branches, in chromium: it opens on the branch the chat
showed, the "◀ 2/3 ▶" switcher (mouse and keyboard, named for screen readers) plays and shows
another branch, the URL hash keeps the branch and the moment, old hashes still work, it reads
without JavaScript with every branch, and it makes no request."""

from __future__ import annotations

import re

import pytest

from agent.player import player_html
from agent.records.timed import turns_from_runs
from devtools.conversations import synthetic_run

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def branched_file(tmp_path_factory):
    """Q1, then Q2 asked three ways (answers of 5, 9 and 13 words); the second was shown, and a
    follow-up Q3 hangs from the first."""
    q1 = turns_from_runs([synthetic_run("Q1", answer_tokens=20, step_s=0.01)])[0]
    seconds = []
    for name, words in (("Q2 first", 5), ("Q2 second", 9), ("Q2 third", 13)):
        turn = turns_from_runs([synthetic_run(name, answer_tokens=words, step_s=0.01)])[0]
        turn.turn.parent = q1.turn.id
        seconds.append(turn)
    q3 = turns_from_runs([synthetic_run("Q3 after the first", answer_tokens=4, step_s=0.01)])[0]
    q3.turn.parent = seconds[0].turn.id
    path = tmp_path_factory.mktemp("player") / "branches.html"
    path.write_text(player_html("Q1", [q1, *seconds, q3], head=seconds[1].turn.id), encoding="utf-8")
    return path


@pytest.fixture
def page(browser, branched_file):
    context = browser.new_context()
    page = context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    yield page
    assert all(r.startswith(branched_file.as_uri()) for r in page.requests), page.requests  # no request but the file
    assert page.problems == []
    context.close()


def visible_questions(page) -> list[str]:
    return page.locator("main h1.question:visible").all_inner_texts()


def last_answer(page) -> str:
    return page.locator("main article.turn:visible section.answer").last.inner_text()


def position(page) -> tuple[int, int]:
    shown, total = re.fullmatch(r"(\d+) / (\d+)", page.inner_text("#position")).groups()
    return int(shown), int(total)


def test_it_opens_on_the_branch_shown_and_the_switcher_plays_another(page, branched_file):
    page.goto(branched_file.as_uri())
    page.click("#speeds [data-speed='0']")
    page.click("#play")
    expect(page.locator("#position")).to_have_text(re.compile(r"^(\d+) / \1$"))
    assert visible_questions(page) == ["Q1", "Q2 second"]
    assert "word8" in last_answer(page) and "word9" not in last_answer(page)
    switcher = page.get_by_role("navigation", name="Branches of question 2")
    expect(switcher).to_have_count(1)
    expect(switcher.locator(".branch-n")).to_have_text("Branch 2/3")
    assert page.evaluate("location.hash") == f"#e={position(page)[1]}"  # the default branch: an old-style hash

    switcher.get_by_role("link", name="Next branch").click()
    assert visible_questions(page) == ["Q1", "Q2 third"]
    assert "word12" in last_answer(page)
    expect(page.get_by_role("navigation", name="Branches of question 2").locator(".branch-n")).to_have_text("Branch 3/3")
    assert re.fullmatch(r"#e=\d+&b=1\.3", page.evaluate("location.hash"))
    # The keyboard stays on the switcher: the last branch has no Next, so focus is on Previous.
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Previous branch"
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert visible_questions(page) == ["Q1", "Q2 first", "Q3 after the first"]  # its own follow-up comes too
    assert "word3" in last_answer(page)
    assert re.fullmatch(r"#e=\d+&b=1\.1\.1", page.evaluate("location.hash"))


def test_a_switch_while_playing_plays_the_branch_chosen_from_its_question(page, branched_file):
    page.clock.install(time=0)
    page.goto(f"{branched_file.as_uri()}#e=0")
    page.clock.pause_at(1000)  # time moves only when the test says
    page.click("#speeds [data-speed='4']")
    page.click("#play")
    for _ in range(200):  # until the second question has appeared
        page.clock.run_for(100)
        if visible_questions(page)[1:]:
            break
    assert page.inner_text("#play") == "Pause"
    page.get_by_role("link", name="Previous branch").click()
    assert page.inner_text("#play") == "Pause"  # it goes on playing, the branch chosen
    shown, total = position(page)
    assert 0 < shown < total
    assert visible_questions(page) == ["Q1", "Q2 first"] and not page.locator("main section.answer").nth(1).is_visible()
    page.click("#speeds [data-speed='4']")
    page.clock.run_for(60_000)
    assert position(page)[0] == position(page)[1]
    assert visible_questions(page) == ["Q1", "Q2 first", "Q3 after the first"] and "word3" in last_answer(page)


def test_the_hash_keeps_the_branch_and_the_moment(page, branched_file):
    page.goto(f"{branched_file.as_uri()}#e=3&b=1.3")
    assert position(page)[0] == 3
    page.click("#speeds [data-speed='0']")
    page.click("#play")
    assert visible_questions(page) == ["Q1", "Q2 third"]
    page.goto(f"{branched_file.as_uri()}#e=2")  # an old link: the branch the chat showed
    page.reload()
    assert position(page)[0] == 2
    page.keyboard.press("End")
    assert visible_questions(page) == ["Q1", "Q2 second"]
    page.goto(f"{branched_file.as_uri()}#e=1&b=9.9")  # a branch that is not there: the shown one
    page.reload()
    page.keyboard.press("End")
    assert visible_questions(page) == ["Q1", "Q2 second"]


def test_without_javascript_every_branch_reads(browser, branched_file):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(branched_file.as_uri())
    assert page.locator("main h1.question").all_inner_texts() == ["Q1", "Q2 second"]
    assert "word8" in page.locator("main section.answer").last.inner_text()
    others = page.locator("#branches")
    expect(others.get_by_role("heading", name="Other branches")).to_be_visible()
    assert others.locator("h1.question").all_inner_texts() == ["Q2 first", "Q3 after the first", "Q2 third"]
    assert "Question 2, branch 3 of 3 after “Q1”." in others.inner_text()
    others.get_by_role("link", name="Previous branch").last.click()  # a plain link to the sibling
    assert page.evaluate("location.hash") == "#turn-2"
    context.close()
