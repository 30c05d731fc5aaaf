// Progressive enhancement only; every page works without it. No inline scripts (CSP).
"use strict";

// The navigation collapses into a menu on narrow screens. Without this script the menu stays
// open (the button is `hidden` in the HTML), so every link is reachable either way.
(function menu() {
  const button = document.querySelector(".menu-toggle");
  const menu = document.getElementById("site-menu");
  if (!button || !menu) return;
  document.documentElement.classList.add("js-menu");
  button.hidden = false;
  const set = (open) => {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  };
  button.addEventListener("click", () => set(button.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      set(false);
      button.focus();
    }
  });
})();

// Destructive forms carry data-confirm="question": a <dialog> asks before they are sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  const dialog = document.getElementById("confirm-dialog");
  if (!question || form.dataset.confirmed === "yes") return;
  event.preventDefault();
  const submitter = event.submitter || undefined;
  if (!dialog || typeof dialog.showModal !== "function") {
    if (window.confirm(question)) { form.dataset.confirmed = "yes"; form.requestSubmit(submitter); }
    return;
  }
  dialog.querySelector("#confirm-dialog-text").textContent = question;
  dialog.returnValue = "";
  dialog.addEventListener("close", function onClose() {
    dialog.removeEventListener("close", onClose);
    if (dialog.returnValue === "confirm") {
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter);
    }
  });
  dialog.showModal();
});

// Copy buttons: data-copy="<id of the element whose text to copy>".
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents(source);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
