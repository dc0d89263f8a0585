// Small enhancements; every page works without them.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Times in the reader's own zone. The server renders them in the user's chosen zone,
// else the status page's; without a choice they move into the browser's zone here.
// The UTC value stays in `datetime` and on hover.
const zoneInfo = document.getElementById("topbar");
const chosenZone = zoneInfo && zoneInfo.hasAttribute("data-zone-explicit");
const browserZone = (() => {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
})();
const readerZone = chosenZone || !browserZone ? (zoneInfo && zoneInfo.dataset.zone) || "UTC" : browserZone;

function zoneParts(at, zone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });
  const parts = {};
  for (const p of format.formatToParts(at)) parts[p.type] = p.value;
  return parts;
}

function localiseTimes(root) {
  for (const el of root.querySelectorAll("time[datetime][data-local]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (isNaN(at)) continue;
    if (!el.title) el.title = at.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    if (chosenZone) continue;
    const p = zoneParts(at, readerZone);
    el.textContent = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
  }
}

// Time inputs: say which zone they mean, send it along, and show prefilled values in it.
function localiseInputs(root) {
  if (chosenZone) return;
  for (const field of root.querySelectorAll("input[name=time_zone][data-zone-field]")) field.value = readerZone;
  for (const name of root.querySelectorAll("[data-zone-name]")) name.textContent = readerZone;
  for (const input of root.querySelectorAll("input[type=datetime-local][data-utc]")) {
    const at = new Date(input.dataset.utc);
    if (isNaN(at) || input.value !== input.defaultValue) continue;
    const p = zoneParts(at, readerZone);
    input.value = input.defaultValue = `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  }
}
localiseTimes(document);
localiseInputs(document);

// The navigation folds into a menu on narrow screens.
(function menu() {
  const details = document.getElementById("menu");
  if (!details || !window.matchMedia) return;
  const narrow = window.matchMedia("(max-width: 44rem)");
  const fit = () => { details.open = !narrow.matches; };
  fit();
  narrow.addEventListener("change", fit);
})();

// "d" declares an incident from anywhere, unless one is typing.
document.addEventListener("keydown", (event) => {
  if (event.key !== "d" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const declare = document.querySelector("a.declare");
  if (!declare) return;
  event.preventDefault();
  location.href = declare.href;
});

// Live Markdown preview in the update composer (same sanitiser as the server's pages).
for (const area of document.querySelectorAll("textarea[data-preview]")) {
  const target = document.getElementById(area.dataset.preview);
  const form = area.closest("form");
  const token = form && form.querySelector("input[name=csrf_token]");
  if (!target || !token) continue;
  let timer = null;
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const body = new URLSearchParams({ csrf_token: token.value, body: area.value });
      fetch("/admin/markdown/preview", { method: "POST", body, credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : ""))
        .then((html) => { target.innerHTML = html; })
        .catch(() => {});
    }, 300);
  });
}

// The incident page follows the log live: new entries appear at the top, and the
// summary, updates and workstreams refresh unless someone is typing in them.
(function live() {
  const root = document.getElementById("incident");
  const log = document.getElementById("log");
  if (!root || !log || !window.EventSource) return;
  const following = !log.hasAttribute("data-filtered") && !new URLSearchParams(location.search).has("before");
  const source = new EventSource(root.dataset.live);
  let refreshTimer = null;

  const busy = (region) => region && (region.contains(document.activeElement) ||
    Array.from(region.querySelectorAll("textarea, input:not([type=hidden])")).some((el) => el.value && el.defaultValue !== el.value));

  const refresh = () => {
    fetch(location.pathname, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        if (!html) return;
        const doc = new DOMParser().parseFromString(html, "text/html");
        for (const id of ["summary", "updates", "workstreams", "lifecycle", "log-count"]) {
          const here = document.getElementById(id);
          const there = doc.getElementById(id);
          if (here && there && !busy(here)) {
            // Folded parts stay as the reader left them.
            const opened = Array.from(here.querySelectorAll("details")).map((d) => d.open);
            Array.from(there.querySelectorAll("details")).forEach((d, i) => {
              if (i < opened.length) d.open = opened[i];
            });
            localiseTimes(there);
            localiseInputs(there);
            here.replaceWith(there);
          }
        }
      })
      .catch(() => {});
  };

  source.addEventListener("log", (event) => {
    if (following && !document.getElementById(event.data.match(/id="(event-[^"]+)"/)?.[1] || "-")) {
      const template = document.createElement("template");
      template.innerHTML = event.data.trim();
      const item = template.content.firstElementChild;
      if (item) {
        item.classList.add("fresh");
        localiseTimes(item);
        // Keep the log ordered by when things happened (notes may be backdated).
        const at = new Date(item.querySelector("time")?.getAttribute("datetime") || Date.now());
        const next = Array.from(log.children).find((li) => new Date(li.querySelector("time")?.getAttribute("datetime") || 0) <= at);
        if (next) log.insertBefore(item, next); else log.append(item);
      }
    }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 150);
  });
})();

// The Alerts page follows the groups live: the server sends the rows again (at most
// once a second) whenever alerts change, unless someone is filling in a form in them.
(function liveAlerts() {
  const root = document.getElementById("alert-groups");
  if (!root || !root.dataset.live || !window.EventSource) return;
  const source = new EventSource(root.dataset.live);
  const busy = () => root.contains(document.activeElement) &&
    document.activeElement.matches("input:not([type=hidden]), textarea, select");
  source.addEventListener("groups", (event) => {
    if (busy()) return;
    const template = document.createElement("template");
    template.innerHTML = event.data.trim();
    localiseTimes(template.content);
    root.replaceChildren(template.content);
  });
})();

// A page's countdown ticks every second ("Paging Ada in 25 s"); the live stream
// replaces the row when something happens.
setInterval(() => {
  for (const el of document.querySelectorAll("[data-countdown-to]")) {
    const left = Math.max(0, Math.round(Number(el.dataset.countdownTo) - Date.now() / 1000));
    el.textContent = left > 0
      ? `Paging ${el.dataset.target} in ${left} s`
      : `Paging ${el.dataset.target} now`;
  }
}, 1000);

// Print buttons (no inline script under the content security policy).
for (const button of document.querySelectorAll("button.print")) {
  button.addEventListener("click", () => window.print());
}
