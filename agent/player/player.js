// The share player (agent/player/build.py writes the page around it). The page is the finished
// conversation; this script only hides what has not happened yet and shortens the text that is
// still streaming. It never builds markup from text: it clones the rendered nodes and cuts
// their text nodes, so everything stays escaped exactly as the engine rendered it.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("timeline").textContent);
  var spans = data.s, grows = data.g, total = spans.length;
  var TICK_MS = 40;
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-ev]")).map(function (el) {
    return { el: el, at: Number(el.getAttribute("data-ev")) };
  });
  var texts = {};
  Array.prototype.forEach.call(document.querySelectorAll("[data-grow]"), function (el) {
    texts[el.getAttribute("data-grow")] = { el: el, full: el.cloneNode(true), length: el.textContent.length, shown: 1 };
  });
  var growAt = {}; // grow id -> the event that writes it
  grows.forEach(function (g, i) { if (g >= 0) { growAt[g] = i; } });
  var bar = document.getElementById("player"), play = document.getElementById("play");
  var scrub = document.getElementById("scrub"), position = document.getElementById("position");
  var speedButtons = Array.prototype.slice.call(document.querySelectorAll("#speeds button"));
  // shown: events fully shown; partial: how much of event `shown` is typed (0..1) while playing.
  var shown = total, partial = 0, speed = 1, timer = null, playing = false, clock = 0;

  function cut(full, chars) {
    var copy = full.cloneNode(true), walker = document.createTreeWalker(copy, NodeFilter.SHOW_TEXT);
    var node, left = chars, gone = [];
    while ((node = walker.nextNode())) {
      if (left <= 0) { gone.push(node); } else if (node.data.length > left) {
        node.data = node.data.slice(0, left); left = 0;
      } else { left -= node.data.length; }
    }
    gone.forEach(function (n) { n.parentNode.removeChild(n); });
    Array.prototype.slice.call(copy.querySelectorAll("*")).reverse().forEach(function (el) {
      if (!el.textContent && !/^(BR|HR)$/.test(el.tagName)) { el.parentNode.removeChild(el); }
    });
    return copy;
  }

  function showText(id, fraction) {
    var t = texts[id];
    if (t.shown === fraction) { return; }
    var source = fraction >= 1 ? t.full.cloneNode(true) : cut(t.full, Math.round(fraction * t.length));
    while (t.el.firstChild) { t.el.removeChild(t.el.firstChild); }
    while (source.firstChild) { t.el.appendChild(source.firstChild); }
    t.el.classList.toggle("typing", fraction < 1);
    var details = t.el.closest("details");
    if (details && fraction < 1) { details.open = true; }
    t.shown = fraction;
  }

  function render() {
    items.forEach(function (item) { item.el.hidden = item.at > shown || (item.at === shown && !partial); });
    Object.keys(texts).forEach(function (id) {
      var at = growAt[id];
      showText(id, at === undefined || at < shown ? 1 : at === shown ? partial : 0);
    });
    scrub.value = String(shown);
    position.textContent = shown + " / " + total;
    play.textContent = playing ? "Pause" : "Play";
    play.setAttribute("aria-label", playing ? "Pause" : "Play");
    document.body.classList.toggle("playing", playing);
    var hash = "#e=" + shown;
    if (location.hash !== hash) {
      try { history.replaceState(null, "", hash); } catch (e) { /* a sandboxed frame: no hash */ }
    }
  }

  function go(to) {
    shown = Math.max(0, Math.min(total, to));
    partial = 0;
    render();
  }

  // One tick of playback: `clock` is seconds on the player's timeline since event `shown`'s
  // predecessor ended; the event appears at its start and its text types out until its end.
  function tick() {
    if (!playing) { return; }
    if (shown >= total) { playing = false; render(); return; }
    var from = shown > 0 ? spans[shown - 1][1] : 0, start = spans[shown][0] - from, end = spans[shown][1] - from;
    clock += TICK_MS / 1000 * speed;
    if (speed === 0 || clock >= end) {
      clock = speed === 0 ? clock : clock - end;
      shown += 1; partial = 0;
      if (speed === 0) { shown = total; }
      if (shown >= total) { playing = false; } // the end: it stops by itself
    } else if (clock >= start) {
      partial = end > start ? Math.max((clock - start) / (end - start), 0.001) : 1;
    }
    render();
    window.scrollTo(0, document.body.scrollHeight); // follow the run as it unfolds
    if (playing) { timer = setTimeout(tick, TICK_MS); }
  }

  function schedule() {
    clearTimeout(timer);
    if (playing) { timer = setTimeout(tick, speed === 0 ? 0 : TICK_MS); }
  }

  function toggle() {
    playing = !playing;
    if (playing && shown >= total) { go(0); }
    clock = 0;
    render();
    schedule();
  }

  function step(by) {
    playing = false;
    clearTimeout(timer);
    // Mid-way through an event, one step back is its start and one step forward its end.
    go(partial && by < 0 ? shown + by + 1 : shown + by);
  }

  function setSpeed(value) {
    speed = value;
    speedButtons.forEach(function (b) { b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === value)); });
    schedule();
  }

  function fromHash() {
    var match = /^#e=(\d+)$/.exec(location.hash);
    return match ? Number(match[1]) : null;
  }

  scrub.max = String(total);
  play.addEventListener("click", toggle);
  document.getElementById("back").addEventListener("click", function () { step(-1); });
  document.getElementById("forward").addEventListener("click", function () { step(1); });
  scrub.addEventListener("input", function () { playing = false; clearTimeout(timer); go(Number(scrub.value)); });
  speedButtons.forEach(function (b) { b.addEventListener("click", function () { setSpeed(Number(b.dataset.speed)); }); });
  document.addEventListener("keydown", function (e) {
    // A focused timeline moves with the arrows itself (its input event lands here too).
    if (e.altKey || e.ctrlKey || e.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) { return; }
    var keys = { " ": toggle, ArrowLeft: function () { step(-1); }, ArrowRight: function () { step(1); },
      Home: function () { step(-total); }, End: function () { step(total); } };
    if (keys[e.key] && !(e.key === " " && e.target.tagName === "BUTTON")) { e.preventDefault(); keys[e.key](); }
  });
  window.addEventListener("hashchange", function () {
    var at = fromHash();
    if (at !== null && at !== shown) { step(at - shown); }
  });
  bar.hidden = false;
  var start = fromHash();
  go(start === null ? 0 : start);
}());
