() => {
  // Small accessibility, layout and composer additions Gradio's chat does not make itself.
  // Panel toggles: expose aria-expanded, name the arrow button, open with Enter and Space.
  const mark = () => {
    document.querySelectorAll("#chat .thought-group > .title").forEach((title) => {
      const open = !!title.parentElement.querySelector(":scope > .content, :scope .content");
      if (title.getAttribute("aria-expanded") !== String(open)) title.setAttribute("aria-expanded", String(open));
      const arrow = title.querySelector("button");
      if (arrow && !arrow.getAttribute("aria-label")) {
        arrow.setAttribute("aria-label", "Show or hide details");
        arrow.setAttribute("tabindex", "-1");  // the title itself is the one keyboard stop
      }
    });
    document.querySelectorAll("#chat button:not([aria-label]), #chat button[aria-label='']").forEach((b) => {
      if (b.title) b.setAttribute("aria-label", b.title);
    });
  };
  // The chat pane follows a streaming answer while the reader is at its end, and only then: Gradio's
  // own autoscroll is off (ui/app_ui.py); it missed what grows after its update (the buttons under a
  // finished answer, its source cards) and undid a scroll up made within 300 ms of an update.
  // Only the reader lets go of the end or takes it back, by moving the pane: up and away from the
  // end lets go, down to near the end takes it back (a smooth scroll down, the chat's scroll-to-end
  // button, passes through positions far from it), and so does a pane grown tall enough to show
  // the end (a phone's keyboard closing). Where the pane merely is never counts: a chat that
  // shrinks for a moment (a redraw) brings the end to a reader scrolled up, and taking that for
  // "at the end" pulled them down as the answer streamed on. (A chat shrinking under the pane moves
  // it up but leaves it at the end, so that is no letting go either.) A new question, a new or
  // reopened chat (the count of questions changes) follows again; a question being edited still
  // counts, as its edit box.
  let atEnd = true, last = 0, high = 0, asked = -1, seen = null;
  const pane = () => document.querySelector("#chat [role=log]");
  const judge = (log) => {
    const gap = log.scrollHeight - log.scrollTop - log.clientHeight;
    if (gap < 80 && (log.scrollTop > last || log.clientHeight > high)) atEnd = true;
    else if (log.scrollTop < last && gap >= 80) atEnd = false;
    last = log.scrollTop;
    high = log.clientHeight;
  };
  document.addEventListener("scroll", (e) => { if (e.target === pane()) judge(e.target); },
                            { capture: true, passive: true });
  const follow = () => {
    const log = pane();
    if (!log) return;
    if (log !== seen) { seen = log; last = log.scrollTop; high = log.clientHeight; }  // drawn anew: no move yet
    const questions = log.querySelectorAll("[data-testid=user], textarea.edit-textarea").length;
    if (questions !== asked) { asked = questions; atEnd = true; }
    judge(log);  // a scroll whose event has not come yet counts already
    if (atEnd && log.scrollHeight > log.clientHeight) {
      log.scrollTop = log.scrollHeight;
      last = log.scrollTop;
    }
  };
  // What grows without a new element (a class shown late) is seen by its size.
  const grown = new ResizeObserver(follow);
  const watch = () => {
    const log = pane();
    if (log) [...log.children].forEach((child) => grown.observe(child));
  };
  // A run that starts while the drawer is open (a trace replayed from it, on a phone the whole
  // screen) plays behind it: close it, whichever control started the run.
  let wasRunning = false;
  const closeOnRun = () => {
    const now = !!document.querySelector("#stop") && document.querySelector("#stop").getClientRects().length > 0;
    if (now && !wasRunning && document.body.classList.contains("tools-open")) drawer(false);
    wasRunning = now;
  };
  new MutationObserver(() => { mark(); watch(); follow(); }).observe(document.body, { subtree: true, childList: true });
  new MutationObserver(closeOnRun).observe(document.body, { subtree: true, childList: true, attributes: true,
                                                            attributeFilter: ["class", "style", "hidden"] });
  // The settings drawer (style.css): the top bar's toggle opens it, its close button and Escape
  // close it; focus moves into it and back, as in a dialog.
  const drawer = (open) => {
    document.body.classList.toggle("tools-open", open);
    const toggle = document.querySelector("#tools-toggle");
    if (toggle) toggle.setAttribute("aria-expanded", String(open));
    const target = document.querySelector(open ? "#tools-close" : "#tools-toggle");
    // The drawer becomes focusable a frame after its class changes: retry briefly.
    const focus = (tries) => {
      if (!target || tries <= 0) return;
      target.focus({ preventScroll: true });
      if (document.activeElement !== target) setTimeout(() => focus(tries - 1), 30);
    };
    focus(10);
  };
  const name = () => {
    const toggle = document.querySelector("#tools-toggle"), shut = document.querySelector("#tools-close");
    if (!toggle || !shut) return setTimeout(name, 100);
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", "tools");
    shut.setAttribute("aria-label", "Close settings");
  };
  name();
  document.addEventListener("click", (e) => {
    if (!e.target.closest) return;
    if (e.target.closest("#tools-toggle")) drawer(!document.body.classList.contains("tools-open"));
    else if (e.target.closest("#tools-close")) drawer(false);
  });
  document.addEventListener("keydown", (e) => {
    // Escape in an open dropdown closes that list, not the drawer around it.
    const list = e.target.getAttribute && e.target.getAttribute("aria-expanded") === "true";
    if (e.key === "Escape" && !list && document.body.classList.contains("tools-open")) drawer(false);
  });
  // Focus the question on wide screens only: on a phone, focusing scrolls the page and opens the keyboard.
  const focus = () => {
    const box = document.querySelector("#question textarea");
    if (!box) return setTimeout(focus, 100);
    if (window.matchMedia("(min-width: 700px)").matches) box.focus({ preventScroll: true });
  };
  focus();
  document.addEventListener("keydown", (e) => {
    const title = e.target.closest && e.target.closest("#chat .thought-group > .title");
    if (!title || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    e.stopPropagation();
    title.click();
  }, true);
  // Enter while an answer runs: Gradio would drop it without a word (a running event is not
  // triggered again). The question stays in the box and a note above it says why, once, until
  // the run ends. Nothing goes to the server, so a full queue is not asked again.
  const HINT = "An answer is still running: press Stop, or wait for it. Your question stays in the box.";
  // The model check on request holds the model the same way (ui/model_check.py).
  const CHECK_HINT = "The model is checking the answer's claims: press Stop, or wait for it. Your question stays in the box.";
  const checking = () => !!document.querySelector("#check-model button:disabled, button#check-model:disabled");
  const running = () => {
    const stop = document.querySelector("#stop");
    return !!stop && stop.getClientRects().length > 0;
  };
  let hintTimer = 0;
  // The note above the question while the model is busy, cleared once the run ends.
  const runHint = () => {
    const hint = document.querySelector("#run-hint");
    if (!hint) return;
    hint.textContent = checking() ? CHECK_HINT : HINT;
    clearInterval(hintTimer);
    hintTimer = setInterval(() => {
      if (running()) return;
      hint.textContent = "";
      clearInterval(hintTimer);
    }, 250);
  };
  // A blank question is not sent either: the server would answer it with nothing, but while
  // that reply is on its way Gradio drops the next Enter or Ask, the question typed just after.
  const blank = () => !(document.querySelector("#question textarea")?.value || "").trim();
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    if (!(e.target.closest && e.target.closest("#question textarea"))) return;
    const busy = running();
    if (!busy && !blank()) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (busy) runHint();
  }, true);
  document.addEventListener("click", (e) => {
    if (!(e.target.closest && e.target.closest("#ask")) || !blank()) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    document.querySelector("#question textarea")?.focus();
  }, true);
  // Gradio keeps a question's edit box open when the chat is cleared: the next question would
  // show up as that edit box, holding the old question. New chat and the clear icon close it first
  // (its cancel button is the last of the buttons under it).
  document.addEventListener("click", (e) => {
    const target = e.target.closest ? e.target : null;
    const clearing = target && (target.closest("#new-chat") ||
      (target.closest("#chat button") && !target.closest("#chat .message-wrap")));
    const box = clearing && document.querySelector("#chat textarea.edit-textarea");
    const buttons = box && box.closest(".message-row")?.nextElementSibling?.querySelectorAll("button");
    if (buttons && buttons.length) buttons[buttons.length - 1].click();
  }, true);
  // Copying an answer: Gradio's copy button copied the whole group (thinking included) as raw
  // HTML, and a selection picked up the screen-reader-only words of each chip. Both now give the
  // answer's text with citations as [n] and, for the copy button, its Sources list.
  const answerText = (node) => {
    const clone = node.cloneNode(true);
    clone.querySelectorAll(".sr-only, .ds-extra, button, svg").forEach((e) => e.remove());
    clone.querySelectorAll(".cite").forEach((c) => c.replaceWith(`[${c.textContent.replace("?", "").trim()}]`));
    return clone;
  };
  const plain = (node) => {
    const box = document.createElement("div");
    box.style.cssText = "position:fixed;left:-9999px;top:0;white-space:pre-wrap";
    box.appendChild(node);
    document.body.appendChild(box);
    const text = box.innerText;
    box.remove();
    return text.replace(/\n{3,}/g, "\n\n").trim();
  };
  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest('#chat button[aria-label="Copy message"]');
    if (!button) return;
    // The buttons follow their group's messages: its answer is the last message before them
    // that is no panel (a question's own copy button has none and copies as Gradio does).
    const ANSWER = '[data-testid="bot"]:not(:has(.thought-group))';
    let node = button.closest(".message-buttons")?.previousElementSibling, answer = null;
    while (node && !answer && !node.classList.contains("message-buttons")) {
      const found = node.matches(ANSWER) ? [node] : [...node.querySelectorAll(ANSWER)];
      answer = found[found.length - 1] || null;
      node = node.previousElementSibling;
    }
    if (!answer) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    const cards = [...answer.querySelectorAll("a.source-card")].map((a) => {
      const n = a.querySelector(".n")?.textContent.trim(), t = a.querySelector(".t")?.textContent.trim();
      return `${n}. ${t} — ${a.getAttribute("href")}`;
    });
    const text = plain(answerText(answer)) + (cards.length ? `\n\nSources:\n${cards.join("\n")}` : "");
    navigator.clipboard.writeText(text).catch(() => {});
  }, true);
  document.addEventListener("copy", (e) => {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.anchorNode?.parentElement?.closest("#chat")) return;
    const box = document.createElement("div");
    for (let i = 0; i < selection.rangeCount; i++) box.appendChild(selection.getRangeAt(i).cloneContents());
    if (!box.querySelector(".sr-only, .cite")) return;
    e.clipboardData.setData("text/plain", plain(answerText(box)));
    e.preventDefault();
  });
  // Branch controls in the chat (ui/branch_links.py): links, since the chat's sanitiser keeps no
  // button or aria attribute. A click leaves its action where the hidden button's event reads it
  // (ui/branch_events.py ACTION_JS) and clicks that button; focus comes back to the same control
  // once the chat has been redrawn, so the keyboard can step through branches.
  const SHOW = "#ds-branch-", FORK = "#ds-fork-", CHECK = "#ds-check-";
  const refocus = (bar, side, before) => {
    const deadline = Date.now() + 5000;
    const look = () => {
      const bars = document.querySelectorAll("#chat .ds-turn-bar");
      const now = bars[bar];
      if (now && now.textContent !== before) {
        const target = now.querySelector(`a.ds-branch-${side}`) || now.querySelector("a.ds-branch-prev, a.ds-branch-next");
        if (target) target.focus({ preventScroll: true });
      } else if (Date.now() < deadline) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  };
  document.addEventListener("click", (e) => {
    const link = e.target.closest &&
      e.target.closest(`#chat a[href^="${SHOW}"], #chat a[href^="${FORK}"], #chat a[href^="${CHECK}"]`);
    if (!link) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    const href = link.getAttribute("href");
    if (href.startsWith(CHECK)) {  // "Check with the model" under an answer (ui/model_check.py)
      if (running()) return runHint();  // the model is busy: say so where Enter would, send nothing
      window.dsBranchAction = `check:${href.slice(CHECK.length)}`;
      document.querySelector("#branch-check")?.click();
      return;
    }
    if (href.startsWith(SHOW)) {
      const bar = link.closest(".ds-turn-bar");
      const bars = [...document.querySelectorAll("#chat .ds-turn-bar")];
      refocus(bars.indexOf(bar), link.classList.contains("ds-branch-prev") ? "prev" : "next", bar.textContent);
      window.dsBranchAction = `show:${href.slice(SHOW.length)}`;
      document.querySelector("#branch-show")?.click();
      return;
    }
    const rest = href.slice(FORK.length), cut = rest.lastIndexOf("-");
    window.dsBranchAction = `fork:${rest.slice(0, cut)}:${rest.slice(cut + 1)}`;
    document.querySelector("#branch-fork")?.click();
  }, true);
  // A character counter that appears near the question's length limit. It counts as the server
  // does (agent.loop.validate_question): characters, not UTF-16 units (an emoji is one), after
  // Python's str.strip() (whose whitespace differs from JavaScript's trim()).
  const SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  const ENDS = new RegExp(`^${SPACE}+|${SPACE}+$`, "g");
  document.addEventListener("input", (e) => {
    const box = e.target.closest && e.target.closest("#question textarea");
    const counter = document.querySelector("#char-count");
    if (!box || !counter) return;
    const limit = Number(counter.dataset.limit) || 0;
    const n = [...box.value.replace(ENDS, "")].length;
    counter.textContent = limit && n >= 0.8 * limit ? `${n} / ${limit}` : "";
    counter.classList.toggle("over", n > limit);
  }, true);
}
