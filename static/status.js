// Times in the reader's own time zone, on hover. The page works without it.
"use strict";
for (const el of document.querySelectorAll("time[datetime][data-local]")) {
  const at = new Date(el.getAttribute("datetime"));
  if (!isNaN(at)) el.title = at.toLocaleString();
}
