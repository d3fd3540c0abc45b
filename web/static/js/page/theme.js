// Light / dark theme: follows the system (prefers-color-scheme) unless the reader picks one.

import { onLanguageChange, t } from "../shared/i18n.js";

const KEY = "conteur-theme";
const ORDER = ["auto", "light", "dark"];
const ICONS = { auto: "◐", light: "☀", dark: "☾" };

/**
 * Apply the saved theme and wire the toggle button (auto → light → dark → auto).
 * @param {Document} doc
 */
export function setUpTheme(doc) {
  const button = doc.getElementById("theme-toggle");
  const apply = (theme) => {
    if (theme === "auto") delete doc.documentElement.dataset.theme;
    else doc.documentElement.dataset.theme = theme;
    const label = t(`theme.${theme}`);
    button.querySelector(".theme-label").textContent = label;
    button.querySelector(".theme-icon").textContent = ICONS[theme];
    button.setAttribute("aria-label", t("theme.aria", { theme: label.toLowerCase() }));
  };
  let theme = readSaved();
  apply(theme);
  onLanguageChange(() => apply(theme));
  button.addEventListener("click", () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // Storage blocked: the choice lasts for this page only.
    }
    apply(theme);
  });
}

function readSaved() {
  try {
    const saved = localStorage.getItem(KEY);
    return ORDER.includes(saved) ? saved : "auto";
  } catch {
    return "auto";
  }
}
