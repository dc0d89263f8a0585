// Times in the reader's own time zone (the page is rendered in the status page's zone,
// with UTC in `datetime` and on hover), and day-by-day uptime by keyboard. The page works
// without it.
"use strict";
(function localTimes() {
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!zone) return;
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23", timeZoneName: "short",
  });
  for (const el of document.querySelectorAll("time[datetime][data-local]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (isNaN(at)) continue;
    const p = {};
    for (const part of format.formatToParts(at)) p[part.type] = part.value;
    el.textContent = `${p.month} ${p.day}, ${p.hour}:${p.minute} ${p.timeZoneName}`;
  }
})();

// One stop per uptime strip: arrow keys (and Home/End) move between its days; a tap or
// focus shows the day's detail (see status.css).
document.addEventListener("keydown", (event) => {
  const bar = event.target;
  if (!bar.matches || !bar.matches(".bars > i")) return;
  const bars = Array.from(bar.parentElement.children);
  const at = bars.indexOf(bar);
  const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: bars.length - 1 }[event.key];
  if (to === undefined || to < 0 || to >= bars.length) return;
  event.preventDefault();
  bar.tabIndex = -1;
  bars[to].tabIndex = 0;
  bars[to].focus();
});
