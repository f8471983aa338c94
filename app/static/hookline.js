// Small enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    const text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text).then(() => {
      copy.textContent = "Copied";
    }, () => {
      source.select && source.select();
      copy.textContent = "Press Ctrl+C";
    });
  }
  const confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
    event.preventDefault();
  }
});
