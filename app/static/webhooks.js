// Endpoint pages: delete dialog and body template presets; both pages work without it.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-delete-dialog]");
  if (opener) {
    const dialog = document.querySelector(opener.dataset.deleteDialog);
    if (dialog && dialog.showModal) {
      event.preventDefault();
      dialog.showModal();
    }
  }
  const closer = event.target.closest("[data-dialog-close]");
  if (closer) {
    closer.closest("dialog").close();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const type = document.querySelector("#type");
  const body = document.querySelector("#body_template");
  if (!type || !body || !body.dataset.presets) {
    return;
  }
  const presets = JSON.parse(body.dataset.presets);
  const isPreset = (text) => Object.values(presets).some((preset) => preset.trim() === text.trim());
  type.addEventListener("change", () => {
    if (body.value.trim() === "" || isPreset(body.value)) {
      body.value = presets[type.value] || "";
    }
  });
});

// Leaving the edit form by a link (Rotate secret…) after changing a field asks first.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("#endpoint-form");
  if (!form) {
    return;
  }
  let changed = false;
  form.addEventListener("input", () => {
    changed = true;
  });
  form.addEventListener("submit", () => {
    changed = false;
  });
  document.addEventListener("click", (event) => {
    const leaving = event.target.closest("[data-unsaved-warning]");
    if (leaving && changed && !window.confirm(leaving.dataset.unsavedWarning)) {
      event.preventDefault();
    }
  });
});
