// Small enhancements; every page works without them.
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

// Show times in the reader's own time zone where the page marks them.
for (const el of document.querySelectorAll("time[datetime][data-local]")) {
  const at = new Date(el.getAttribute("datetime"));
  if (!isNaN(at)) el.title = at.toLocaleString();
}
