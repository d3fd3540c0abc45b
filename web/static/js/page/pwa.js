// Offline support: register the service worker (sw.js), follow its first download,
// ask for persistent storage, and make sure the page ends up cross-origin isolated.
//
// On the first visit the service worker downloads the core files once (app,
// Pyodide, tokenizer) into its versioned cache and reports progress here; the
// page waits for it. The worker then loads those from the cache, and the service
// worker caches the chosen backend's files (its onnxruntime build and graph) as
// the worker downloads them, once.
// A static host that sends no COOP/COEP headers gets them from the service
// worker: the page reloads itself once to become isolated (threads for wasm).

import { msg } from "../shared/i18n.js";

const RELOAD_KEY = "conteur-isolation-reload";

/**
 * @typedef {{offline: boolean, note: import("../shared/i18n.js").Message | null}} PwaState
 * offline: the app is cached (the backend's files once the model has loaded);
 * note: what to tell the reader, if anything.
 */

/**
 * Set up the service worker; resolves when the worker may start.
 * @param {{onProgress: (p: {file: string, loaded: number, total: number}) => void,
 *          onPhase: (message: import("../shared/i18n.js").Message) => void,
 *          onUpdate: () => void}} callbacks
 * @returns {Promise<PwaState>}
 */
export async function preparePwa({ onProgress, onPhase, onUpdate }) {
  if (!("serviceWorker" in navigator)) {
    return { offline: false, note: msg("pwa.noServiceWorker") };
  }
  const container = navigator.serviceWorker;
  container.addEventListener("message", ({ data }) => {
    if (data?.type === "precache-progress") onProgress(data);
  });
  const wasControlled = Boolean(container.controller);
  let registration;
  try {
    registration = await container.register("sw.js");
  } catch (error) {
    return { offline: false, note: msg("pwa.unavailableBecause", { detail: error.message }) };
  }
  if (!registration) return { offline: false, note: msg("pwa.unavailable") };
  requestPersistence();
  if (wasControlled) {
    container.addEventListener("controllerchange", onUpdate);
    return { offline: true, note: null };
  }
  if (registration.active && !registration.installing && !registration.waiting) {
    // Cached already, but this load bypassed the service worker (a hard reload).
    return { offline: true, note: null };
  }
  onPhase(msg("phase.offline"));
  const installed = await waitForControl(registration);
  if (!installed) {
    return { offline: false, note: msg("pwa.saveFailed") };
  }
  if (!globalThis.crossOriginIsolated && !sessionStorage.getItem(RELOAD_KEY)) {
    // The service worker adds the isolation headers, but only to pages it serves.
    sessionStorage.setItem(RELOAD_KEY, "1");
    location.reload();
    await new Promise(() => {}); // the reload replaces this page
  }
  return { offline: true, note: null };
}

/** True once the new service worker controls this page; false if its install failed. */
function waitForControl(registration) {
  const container = navigator.serviceWorker;
  return new Promise((resolve) => {
    if (container.controller) return resolve(true);
    container.addEventListener("controllerchange", () => resolve(true), { once: true });
    const watch = (worker) => {
      worker?.addEventListener("statechange", () => {
        if (worker.state === "redundant" && !container.controller) resolve(false);
      });
    };
    watch(registration.installing ?? registration.waiting);
    registration.addEventListener("updatefound", () => watch(registration.installing));
  });
}

/** Ask the browser not to evict the cached model under storage pressure. */
async function requestPersistence() {
  try {
    if (navigator.storage?.persist && !(await navigator.storage.persisted())) {
      await navigator.storage.persist();
    }
  } catch {
    // Not granted or not supported: the cache may be evicted, and is then downloaded again.
  }
}
