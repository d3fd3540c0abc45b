// Remembered WebGPU self-check verdicts (see self-check.js), kept in localStorage.
//
// A key names the adapter, the onnxruntime-web version and the model, so a driver
// update, a new onnxruntime-web or a new export is checked afresh.
//
// A verdict is "pending" from the moment the check starts (the worker's "running"
// self-check event) until its outcome replaces it: a GPU that hangs in the check, or
// a tab killed during it, leaves "pending" behind, and the next start goes straight to
// WASM instead of hanging again (worker/backend-choice.js).

const VERDICTS_KEY = "conteur-webgpu-verdicts";

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(VERDICTS_KEY) ?? "{}");
    return saved && typeof saved === "object" ? saved : {};
  } catch {
    return {};
  }
}

function save(verdicts) {
  try {
    localStorage.setItem(VERDICTS_KEY, JSON.stringify(verdicts));
  } catch {
    // Storage blocked: the check simply runs again next time.
  }
}

/** @returns {string[]} keys of adapters that failed the self-check */
export function rememberedFailures() {
  return keysWith("failed");
}

/** @returns {string[]} keys of adapters whose check began and never ended */
export function rememberedPending() {
  return keysWith("pending");
}

function keysWith(status) {
  return Object.entries(load()).filter(([, v]) => v?.status === status).map(([key]) => key);
}

/** @param {string} key @param {"failed" | "pending"} status */
export function rememberVerdict(key, status) {
  if (!key) return;
  save({ ...load(), [key]: { status, at: new Date().toISOString() } });
}

/** @param {string} key an adapter that passed: forget an older failure */
export function forgetVerdict(key) {
  const verdicts = load();
  if (!key || !(key in verdicts)) return;
  delete verdicts[key];
  save(verdicts);
}
