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

// Show times in the reader's own time zone on hover.
for (const el of document.querySelectorAll("time[datetime][data-local]")) {
  const at = new Date(el.getAttribute("datetime"));
  if (!isNaN(at)) el.title = at.toLocaleString();
}

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
        for (const id of ["summary", "updates", "workstreams", "lifecycle"]) {
          const here = document.getElementById(id);
          const there = doc.getElementById(id);
          if (here && there && !busy(here)) here.replaceWith(there);
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

// Print buttons (no inline script under the content security policy).
for (const button of document.querySelectorAll("button.print")) {
  button.addEventListener("click", () => window.print());
}
