// Ask before irreversible actions: a form with data-confirm="..." is submitted only if the user agrees.
// Loaded as a file (no inline script), so that a strict Content-Security-Policy can forbid inline code.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
