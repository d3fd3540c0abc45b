// The page's side of the service worker (sw.js): register it, follow its first
// download, answer its questions, ask it what is stored, and hand over to a new
// version when the reader asks.
//
// On the first visit the service worker downloads the core files once (app, Pyodide,
// tokenizer) and reports progress here; the page waits for it. The worker then loads
// those from the cache, and the service worker keeps the chosen backend's files (its
// onnxruntime build and graph) from that first download. Whether they were really
// kept is asked once the model is ready (`stored`): the page claims offline use only
// then (page/storage-view.js).
//
// A new version installs beside the running one and waits: it never takes over a
// page that is loading or writing. Each page answers the service worker's "state?"
// with {busy, version}; the reload button (page/update-banner.js) asks the waiting
// version to take over (`takeUpdate`), which it does when no other page is busy.
// A static host that sends no COOP/COEP headers gets them from the service worker:
// the page reloads itself once to become isolated (threads for wasm).

import { msg } from "../shared/i18n.js";

const RELOAD_KEY = "conteur-isolation-reload";
const STORED_TIMEOUT_MS = 120_000; // the service worker first finishes the copies it is saving
const TAKEOVER_TIMEOUT_MS = 10_000;
const UPDATE_CHECK_MS = 60 * 60 * 1000; // a page left open looks for a new version hourly

/**
 * @typedef {{serviceWorker: boolean, note: import("../shared/i18n.js").Message | null}} PwaState
 * serviceWorker: a service worker serves this page, so its files can be kept on the
 * device (whether they are is `Pwa.stored`'s answer); note: what to tell the reader.
 *
 * @typedef {{version: string, stored: boolean, missing: string[],
 *            short: {needed: number, available: number | null, refused: boolean} | null}} StoredAnswer
 * stored: every core file and every file of the backend is kept; short: the device
 * lacks room (bytes needed, bytes the browser grants; refused: the browser refused a
 * store its estimate had room for).
 *
 * @typedef {object} PwaCallbacks
 * @property {(p: {file: string, loaded: number, total: number}) => void} onProgress
 * @property {(message: import("../shared/i18n.js").Message) => void} onPhase
 * @property {(shortage: {group: string, needed: number, available: number | null, refused: boolean}) => void} onStorageShort
 * @property {() => void} onUpdateReady a new version waits, or took over elsewhere
 */

/** The page's link to its service worker. */
export class Pwa {
  /** @param {string} version this page's site version (<html data-version>) @param {PwaCallbacks} callbacks */
  constructor(version, callbacks) {
    this.version = version;
    this.callbacks = callbacks;
    this.busy = true; // loading until the page says otherwise
    /** @type {ServiceWorkerRegistration | null} */
    this.registration = null;
  }

  /**
   * Register the service worker; resolves when the worker may start.
   * @returns {Promise<PwaState>}
   */
  async prepare() {
    if (!("serviceWorker" in navigator)) return { serviceWorker: false, note: msg("pwa.noServiceWorker") };
    const container = navigator.serviceWorker;
    container.addEventListener("message", (event) => this.receive(event));
    container.startMessages();
    const wasControlled = Boolean(container.controller);
    try {
      this.registration = await container.register("sw.js");
    } catch (error) {
      return { serviceWorker: false, note: msg("pwa.unavailableBecause", { detail: error.message }) };
    }
    if (!this.registration) return { serviceWorker: false, note: msg("pwa.unavailable") };
    requestPersistence();
    addEventListener("pagehide", () => container.controller?.postMessage({ type: "bye" }));
    if (wasControlled) {
      this.watchUpdates();
      return { serviceWorker: true, note: null };
    }
    if (this.registration.active && !this.registration.installing && !this.registration.waiting) {
      // Installed already, but this load bypassed the service worker (a hard reload):
      // this page downloads for itself, and the files kept before are still kept.
      return { serviceWorker: true, note: null };
    }
    this.callbacks.onPhase(msg("phase.offline"));
    const installed = await waitForControl(this.registration);
    if (!installed) return { serviceWorker: false, note: msg("pwa.saveFailed") };
    if (!globalThis.crossOriginIsolated && !sessionStorage.getItem(RELOAD_KEY)) {
      // The service worker adds the isolation headers, but only to pages it serves.
      sessionStorage.setItem(RELOAD_KEY, "1");
      location.reload();
      await new Promise(() => {}); // the reload replaces this page
    }
    this.watchUpdates();
    return { serviceWorker: true, note: null };
  }

  /** @param {boolean} busy the page is loading or writing: no new version may take over */
  setBusy(busy) {
    this.busy = busy;
  }

  /**
   * Whether this version's core files and `group`'s (a backend: "webgpu", "wasm") are
   * kept on the device; null without a service worker.
   * @param {string} group
   * @returns {Promise<StoredAnswer | null>}
   */
  async stored(group) {
    const worker = navigator.serviceWorker?.controller ?? this.registration?.active;
    if (!worker) return null;
    return ask(worker, { type: "stored?", group, version: this.version }, STORED_TIMEOUT_MS);
  }

  /**
   * The reader pressed "reload": ask the waiting version to take over, then reload.
   * Resolves (without reloading) when another page is loading or writing.
   * @returns {Promise<{activated: boolean, busy: number}>}
   */
  async takeUpdate() {
    const waiting = this.registration?.waiting;
    if (waiting) {
      const answer = await ask(waiting, { type: "activate" }, TAKEOVER_TIMEOUT_MS);
      if (!answer?.activated) return answer ?? { activated: false, busy: 0 };
      await controllerChange(TAKEOVER_TIMEOUT_MS);
    }
    location.reload();
    return { activated: true, busy: 0 };
  }

  /** Messages from the service worker: download progress, shortage, "state?". */
  receive({ data, ports }) {
    if (data?.type === "precache-progress") this.callbacks.onProgress(data);
    else if (data?.type === "storage-short") this.callbacks.onStorageShort(data);
    else if (data?.type === "state?") ports[0]?.postMessage({ busy: this.busy, version: this.version });
  }

  /** Tell the reader when a new version waits, or took over from another page. */
  watchUpdates() {
    const registration = this.registration;
    const container = navigator.serviceWorker;
    const ready = () => this.callbacks.onUpdateReady();
    if (registration.waiting) ready();
    registration.addEventListener("updatefound", () => {
      const worker = registration.installing;
      worker?.addEventListener("statechange", () => {
        if (worker.state === "installed") ready();
      });
    });
    container.addEventListener("controllerchange", ready); // the new version took over
    // The browser looks on each navigation; a page left open looks hourly too (offline: nothing).
    setInterval(() => registration.update().catch(() => {}), UPDATE_CHECK_MS);
  }
}

/** Send `message` to a service worker with a reply port; null if no answer in time. */
function ask(worker, message, timeoutMs) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), timeoutMs);
    channel.port1.onmessage = ({ data }) => {
      clearTimeout(timer);
      resolve(data);
    };
    worker.postMessage(message, [channel.port2]);
  });
}

function controllerChange(timeoutMs) {
  return new Promise((resolve) => {
    navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
    setTimeout(resolve, timeoutMs);
  });
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
