// The share player (agent/player/build.py writes the page around it). The page is the finished
// conversation, every branch of it; this script plays one path through the branches (by default
// the one the chat showed), hides what has not happened yet and shortens the text that is still
// streaming. It never builds markup from text: it moves and clones the rendered nodes and cuts
// their text nodes, so everything stays escaped exactly as the engine rendered it.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("timeline").textContent);
  var spans = data.s, grows = data.g, PAUSE = data.q;
  // Per turn: its first event, how many, its parent (-1: none), the child a branch through it
  // continues with (-1: none), and its place among its siblings (from 1).
  var turns = data.t.map(function (t) { return { first: t[0], count: t[1], parent: t[2], follow: t[3], place: t[4] }; });
  var TICK_MS = 40;
  var main = document.getElementById("conversation"), others = document.getElementById("branches");
  var articles = {};
  Array.prototype.forEach.call(document.querySelectorAll("article[data-turn]"), function (el) {
    articles[el.getAttribute("data-turn")] = el;
  });
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-ev]")).map(function (el) {
    return { el: el, ev: Number(el.getAttribute("data-ev")) };
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
  // The path played: its turns, its events in order (pos: event -> place), their times, and
  // where each of its turns starts.
  var path = [], order = [], pos = {}, times = [], starts = [], total = 0;
  // shown: events fully shown; partial: how much of event `shown` is typed (0..1) while playing.
  var shown = 0, partial = 0, speed = 1, timer = null, playing = false, clock = 0;

  function follow(from, into) {
    for (var i = from; i >= 0 && into.indexOf(i) < 0; i = turns[i].follow) { into.push(i); }
    return into;
  }
  var firstTurns = turns.map(function (t, i) { return t.parent < 0 ? i : -1; }).filter(function (i) { return i >= 0; });
  var defaultPath = follow(0, []);

  function layout(newPath) {
    path = newPath; order = []; pos = {}; times = []; starts = [];
    var end = 0;
    path.forEach(function (ti, k) {
      var t = turns[ti], offset = k > 0 ? end + PAUSE : 0;
      starts.push(order.length);
      end = offset;
      for (var e = t.first; e < t.first + t.count; e++) {
        pos[e] = order.length; order.push(e);
        times.push([offset + spans[e][0], offset + spans[e][1]]);
        end = offset + spans[e][1];
      }
      main.appendChild(articles[ti]);
    });
    turns.forEach(function (t, ti) { if (path.indexOf(ti) < 0 && others) { others.appendChild(articles[ti]); } });
    total = order.length;
    scrub.max = String(total);
  }

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

  function hidden(at) { return at === undefined || at > shown || (at === shown && !partial); }

  function hash() {
    var moved = path.length !== defaultPath.length || path.some(function (t, k) { return t !== defaultPath[k]; });
    return "#e=" + shown + (moved ? "&b=" + path.map(function (t) { return turns[t].place; }).join(".") : "");
  }

  function render() {
    path.forEach(function (ti, k) { articles[ti].hidden = hidden(starts[k]); });
    items.forEach(function (item) { item.el.hidden = hidden(pos[item.ev]); });
    Object.keys(texts).forEach(function (id) {
      var at = pos[growAt[id]];
      showText(id, at === undefined || at < shown ? 1 : at === shown ? partial : 0);
    });
    scrub.value = String(shown);
    position.textContent = shown + " / " + total;
    play.textContent = playing ? "Pause" : "Play";
    play.setAttribute("aria-label", playing ? "Pause" : "Play");
    document.body.classList.toggle("playing", playing);
    var wanted = hash();
    if (location.hash !== wanted) {
      try { history.replaceState(null, "", wanted); } catch (e) { /* a sandboxed frame: no hash */ }
    }
  }

  function go(to) {
    shown = Math.max(0, Math.min(total, to));
    partial = 0;
    render();
  }

  // One tick of playback: `clock` is seconds on the path's timeline since event `shown`'s
  // predecessor ended; the event appears at its start and its text types out until its end.
  function tick() {
    if (!playing) { return; }
    if (shown >= total) { playing = false; render(); return; }
    var from = shown > 0 ? times[shown - 1][1] : 0, start = times[shown][0] - from, end = times[shown][1] - from;
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

  // Another branch at turn `to`'s place: the path up to it, then it and the turns it continues
  // with. Playing, it plays from that question; paused at the end, it shows the new end;
  // otherwise it shows the chosen branch's answer.
  function switchTo(to) {
    var k = path.indexOf(turns[to].parent) + 1, atEnd = shown >= total;
    layout(follow(to, path.slice(0, k)));
    clock = 0; partial = 0;
    shown = playing ? starts[k] : atEnd ? total : (k + 1 < starts.length ? starts[k + 1] : total);
    if (playing && shown < total) { // its question stays in view (the switcher just used is in it)
      clock = times[shown][0] - (shown > 0 ? times[shown - 1][1] : 0);
      partial = 0.001;
    }
    render();
    schedule();
  }

  // `#e=K` (a moment of the shown branch) or `#e=K&b=1.2` (a moment of the branch that takes, at
  // each question, the sibling at that place); a place that does not exist keeps the default.
  function fromHash() {
    var match = /^#e=(\d+)(?:&b=(\d+(?:\.\d+)*))?$/.exec(location.hash);
    if (!match) { return null; }
    var chosen = defaultPath;
    if (match[2]) {
      chosen = [];
      var choices = match[2].split(".").map(Number), candidates = firstTurns, k;
      for (k = 0; k < choices.length && candidates.length; k++) {
        var pick = candidates.filter(function (i) { return turns[i].place === choices[k]; })[0];
        if (pick === undefined) { break; }
        chosen.push(pick);
        candidates = turns.map(function (t, i) { return t.parent === pick ? i : -1; }).filter(function (i) { return i >= 0; });
      }
      chosen = chosen.length ? follow(turns[chosen[chosen.length - 1]].follow, chosen) : defaultPath;
    }
    return { at: Number(match[1]), path: chosen };
  }

  function fromLink(link) {
    var to = Number(link.getAttribute("data-to")), side = link.classList.contains("branch-prev") ? "prev" : "next";
    switchTo(to);
    // The keyboard stays on the switcher: the same arrow of the branch now shown, or its other one.
    var nav = articles[to].querySelector("nav.branches");
    var target = nav && (nav.querySelector("a.branch-" + side) || nav.querySelector("a"));
    if (target) { target.focus({ preventScroll: true }); }
  }

  play.addEventListener("click", toggle);
  document.getElementById("back").addEventListener("click", function () { step(-1); });
  document.getElementById("forward").addEventListener("click", function () { step(1); });
  scrub.addEventListener("input", function () { playing = false; clearTimeout(timer); go(Number(scrub.value)); });
  speedButtons.forEach(function (b) { b.addEventListener("click", function () { setSpeed(Number(b.dataset.speed)); }); });
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("nav.branches a[data-to]");
    if (!link) { return; }
    e.preventDefault();
    fromLink(link);
  });
  document.addEventListener("keydown", function (e) {
    // A focused timeline moves with the arrows itself (its input event lands here too).
    if (e.altKey || e.ctrlKey || e.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) { return; }
    var keys = { " ": toggle, ArrowLeft: function () { step(-1); }, ArrowRight: function () { step(1); },
      Home: function () { step(-total); }, End: function () { step(total); } };
    if (keys[e.key] && !(e.key === " " && e.target.tagName === "BUTTON")) { e.preventDefault(); keys[e.key](); }
  });
  window.addEventListener("hashchange", function () {
    var wanted = fromHash();
    if (wanted === null) { return; }
    if (wanted.path.join() !== path.join()) { layout(wanted.path); }
    playing = false; clearTimeout(timer);
    go(wanted.at);
  });
  document.body.classList.add("js");
  if (others) { others.hidden = true; }
  bar.hidden = false;
  var start = fromHash();
  layout(start === null ? defaultPath : start.path);
  go(start === null ? 0 : start.at);
}());
