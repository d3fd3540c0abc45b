// Which backend the reader asked for: `?backend=` in the URL, else the "Run on"
// choice under Advanced settings (remembered in localStorage), else automatic.

const SAVED_KEY = "conteur-backend";
export const PREFERENCES = ["auto", "webgpu", "wasm"];

/** @returns {"auto" | "webgpu" | "wasm" | null} what the URL asks for, if anything */
export function urlPreference() {
  const asked = new URLSearchParams(location.search).get("backend");
  return PREFERENCES.includes(asked) ? asked : null;
}

/** @returns {"auto" | "webgpu" | "wasm"} the URL's choice, else the saved one, else auto */
export function backendPreference() {
  const asked = urlPreference();
  if (asked) return asked;
  try {
    const saved = localStorage.getItem(SAVED_KEY);
    return PREFERENCES.includes(saved) ? saved : "auto";
  } catch {
    return "auto";
  }
}

/**
 * Show the preference in the "Run on" select; a new choice is saved and the page
 * reloads with it in the URL (the worker picks a backend once, at start-up). Before
 * that, `mayReload` is asked (a story being written asks the reader first); when it
 * says no, the select goes back to the choice in force.
 * @param {HTMLSelectElement} select
 * @param {() => Promise<boolean>} [mayReload] resolves true when the page may reload now
 */
export function wireBackendChoice(select, mayReload = async () => true) {
  const inForce = backendPreference();
  select.value = inForce;
  select.addEventListener("change", async () => {
    const chosen = select.value;
    if (!(await mayReload())) {
      select.value = inForce;
      return;
    }
    select.value = chosen;
    try {
      localStorage.setItem(SAVED_KEY, select.value);
    } catch {
      // Storage blocked: the URL carries the choice instead.
    }
    const url = new URL(location.href);
    url.searchParams.set("backend", select.value);
    location.replace(url);
  });
}
