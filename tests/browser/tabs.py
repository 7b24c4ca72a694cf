"""This worker's browser tabs, kept between tests: a test's tab goes back here when it is done
(``park``), on a blank page, and the next test that asks for a tab with the same options
(``take``) gets it, instead of opening a new one.

Why: a new tab cost ~1.8 s of CPU (a renderer process, the page's setup in the browser and in
playwright) and ~1 s to mount the app, where the same tab sent to the app again cost ~0.6 s of
CPU and ~0.4 s (20 mounts each way, measured with process accounting): about two thirds of
the browser tier's CPU was chromium's, and most of its tests open a tab or two.

What a test sees is the same: the blank page ends the app's Gradio session as closing the tab
did, the tab comes back on the app as a new session, and the listeners a test added to it are
gone. Each context holds one tab at most, as before: a test that works in two tabs gets two
contexts (two tabs of one context took 22 s instead of 6 s in test_documents_browser's
isolation test). Contexts are reused too (their cache holds Gradio's frontend: a page took
1.4-2.1 s to mount in a fresh one against 0.8-1.0 s), so they share cookies and storage, as
they did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Where a tab of the pool keeps the listeners its test added.
_ADDED = "_test_listeners"


class _Pool:
    """A context and its one tab, by the options they were made with."""

    def __init__(self) -> None:
        self.contexts: dict[tuple[int, str, str | None], list[Any]] = {}
        self.parked: set[Any] = set()

    def take(self, browser: Any, *, setup: Callable[[Any], None], color_scheme: str | None,
             **options: Any) -> Any:
        """A tab for a test: a parked one made with these options, else a new one (in a context
        with no tab in use, else a new context); ``setup`` runs once on a new tab."""
        key = (id(browser), repr(sorted(options.items())), color_scheme)
        pool = self.contexts.setdefault(key, [])
        for context in pool:
            pages = [p for p in context.pages if not p.is_closed()]
            if len(pages) == 1 and pages[0] in self.parked:
                self.parked.discard(pages[0])
                return pages[0]
            if not pages:
                return self._new_tab(context, setup, color_scheme)
        context = browser.new_context(**options)
        pool.append(context)
        context.on("close", lambda _: pool.remove(context))  # a test that closed it: never handed out again
        return self._new_tab(context, setup, color_scheme)

    @staticmethod
    def _new_tab(context: Any, setup: Callable[[Any], None], color_scheme: str | None) -> Any:
        page = context.new_page()
        if color_scheme:
            page.emulate_media(color_scheme=color_scheme)
        setup(page)
        added: list[tuple[str, Any]] = []
        on = page.on

        def tracked_on(event: str, handler: Any) -> None:
            """A test's listener, taken off again when the tab is parked."""
            added.append((event, handler))
            on(event, handler)
        setattr(page, _ADDED, added)
        page.on = tracked_on  # type: ignore[method-assign]
        return page

    def park(self, page: Any) -> None:
        """The test is done with ``page``: its Gradio session ends (the tab leaves the app), and
        the tab waits, blank, for the next test."""
        if page.is_closed():
            return
        added = getattr(page, _ADDED, None)
        if added is None:  # not a tab of this pool (a test's own new_page): closed as before
            page.close()
            return
        for event, handler in added:
            page.remove_listener(event, handler)
        added.clear()
        page.goto("about:blank")
        self.parked.add(page)


TABS = _Pool()
