// The branding page's live preview: colours, name, texts and logo as you type, before saving.
// CSS variables are set through the CSSOM (element.style.setProperty), which the CSP allows;
// no inline script or style attribute. The contrast warning is the server's rule (branding/colors.py).
(function () {
  const form = document.getElementById("branding-form");
  const preview = document.getElementById("branding-preview");
  if (!form || !preview) return;
  const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
  const WHITE = "#ffffff", DARK = "#1d2330";

  function full(hex) {
    return hex.length === 4 ? "#" + hex.slice(1).split("").map((c) => c + c).join("") : hex;
  }
  function luminance(hex) {
    const ch = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((s) => (s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4)));
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  }
  function contrast(a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m);
    return (x + 0.05) / (y + 0.05);
  }
  function textOn(bg) {
    return contrast(bg, WHITE) >= contrast(bg, DARK) ? WHITE : DARK;
  }
  const roles = {
    primary_color: { vars: ["--p", "--on-p"], fixedText: WHITE, where: "White button text and links" },
    secondary_color: { vars: ["--s", "--on-s"], where: "Header text" },
    accent_color: { vars: ["--a", "--on-a"], where: "Text on highlights" },
  };

  function colour(name) {
    const input = form.elements[name];
    if (!input) return;
    const role = roles[name];
    const note = form.querySelector('[data-contrast-for="' + name + '"]');
    const value = input.value.trim();
    if (!HEX.test(value)) {
      role.vars.forEach((v) => preview.style.removeProperty(v));
      if (note) {
        note.hidden = value === "";
        note.textContent = value === "" ? "" : "Not a colour yet: use hex, e.g. #3b5bdb.";
      }
      return;
    }
    const hex = full(value.toLowerCase());
    const text = role.fixedText || textOn(hex);
    preview.style.setProperty(role.vars[0], hex);
    preview.style.setProperty(role.vars[1], text);
    const ratio = contrast(hex, text);
    if (note) {
      note.hidden = ratio >= 4.5;
      note.textContent = ratio >= 4.5 ? "" : role.where + " on " + hex + " have a contrast of " + ratio.toFixed(2) +
        ":1, below the 4.5:1 of WCAG AA.";
    }
  }

  function text(name, targetId, fallback) {
    const input = form.elements[name];
    const target = document.getElementById(targetId);
    if (!input || !target) return;
    target.textContent = input.value.trim() || fallback || "";
  }

  const nameTarget = document.getElementById("preview-name");
  const defaultName = nameTarget ? nameTarget.textContent : "";
  function refresh() {
    Object.keys(roles).forEach(colour);
    text("company_name", "preview-name", defaultName);
    text("welcome_message", "preview-welcome");
    text("footer_text", "preview-footer");
  }
  form.addEventListener("input", refresh);

  const logoInput = form.elements["logo"];
  const logo = document.getElementById("preview-logo");
  if (logoInput && logo) {
    logoInput.addEventListener("change", () => {
      const file = logoInput.files && logoInput.files[0];
      if (!file || !/^image\/(png|jpeg|webp)$/.test(file.type)) return;
      const reader = new FileReader();
      reader.onload = () => { logo.src = reader.result; logo.hidden = false; };  // a data: URL (img-src allows it)
      reader.readAsDataURL(file);
    });
  }
  refresh();
})();
