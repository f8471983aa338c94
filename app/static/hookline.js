// Small enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    const text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text).then(() => {
      copy.textContent = "Copied";
    }, () => {
      if (source.select) {
        source.select();
      }
      copy.textContent = "Press Ctrl+C";
    });
  }
  const confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
    event.preventDefault();
  }
});

// Times: the server writes UTC; show them in the reader's time zone, UTC on hover.
const localFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  second: "2-digit", timeZoneName: "short",
});
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const units = [["day", 86400], ["hour", 3600], ["minute", 60]];

function relativeText(moment) {
  const seconds = (moment.getTime() - Date.now()) / 1000;
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      return relativeFormat.format(Math.round(seconds / size), unit);
    }
  }
  return Math.abs(seconds) < 45 ? "just now" : relativeFormat.format(Math.round(seconds), "second");
}

function localizeTimes() {
  for (const element of document.querySelectorAll("time[data-time]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) {
      continue;
    }
    const utc = element.dataset.utc || element.title;
    element.dataset.utc = utc;
    if (element.dataset.time === "relative") {
      element.textContent = relativeText(moment);
      element.title = `${localFormat.format(moment)} (${utc})`;
    } else {
      element.textContent = localFormat.format(moment);
      element.title = utc;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  localizeTimes();
  window.setInterval(localizeTimes, 30000);
  // Copy buttons need this script: show them only when it runs.
  for (const button of document.querySelectorAll("[data-copy][hidden]")) {
    button.hidden = false;
  }
  // After a failed submit, the first field to fix gets the focus.
  const invalid = document.querySelector("main .is-invalid");
  if (invalid && invalid.focus) {
    invalid.focus();
  }
  // Charts open on their newest figures when they scroll.
  for (const box of document.querySelectorAll(".chart-scroll")) {
    box.scrollLeft = box.scrollWidth;
  }
});
