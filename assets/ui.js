() => {
  // Small accessibility and composer additions Gradio's chat does not make itself.
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
  // On a phone the page itself scrolls (style.css): follow a streaming answer while the reader is at the end.
  const phone = window.matchMedia("(max-width: 640px)");
  let atEnd = true;
  window.addEventListener("scroll", () => {
    atEnd = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  }, { passive: true });
  const follow = () => {
    const log = document.querySelector("#chat [role=log]");
    if (phone.matches && atEnd && log && log.querySelector(".message-row, [data-testid=user]")) {
      window.scrollTo({ top: document.documentElement.scrollHeight });
    }
  };
  new MutationObserver(() => { mark(); follow(); }).observe(document.body, { subtree: true, childList: true });
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
  // A character counter that appears near the question's length limit.
  document.addEventListener("input", (e) => {
    const box = e.target.closest && e.target.closest("#question textarea");
    const counter = document.querySelector("#char-count");
    if (!box || !counter) return;
    const limit = Number(counter.dataset.limit) || 0;
    const n = box.value.length;
    counter.textContent = limit && n >= 0.8 * limit ? `${n} / ${limit}` : "";
    counter.classList.toggle("over", n > limit);
  }, true);
}
