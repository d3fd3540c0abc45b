// The page's handle on the module worker (worker.js), which does all the work.
//
// Worker messages are re-dispatched as DOM events of the same `type`, with the
// message as `event.detail`; request/reply pairs (surprise, memory) are promises.

import { toMessage, WorkerCrashError } from "../shared/errors.js";

/** The main thread's handle on the worker: commands in, DOM events out. */
export class Engine extends EventTarget {
  /** @param {URL | string} workerUrl */
  constructor(workerUrl) {
    super();
    this.worker = new Worker(workerUrl, { type: "module", name: "conteur-engine" });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      const detail = event.message || "the worker script failed to load";
      this.emit({ type: "error", error: toMessage(new WorkerCrashError(detail)) });
    };
  }

  receive(message) {
    if (message.type === "reply") {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      resolve?.(message.value);
      return;
    }
    this.emit(message);
  }

  emit(message) {
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
  }

  /**
   * Boot Python and load the model.
   * @param {{backend: "auto" | "webgpu" | "wasm", ortVersion: string, failedChecks: string[]}} options
   *   failedChecks: verdict keys of adapters that failed the WebGPU self-check before
   */
  start(options) {
    this.worker.postMessage({ type: "init", ...options });
  }

  /**
   * Write one story; progress arrives as prompt/token/done/input-error/error events.
   * @param {object} request the story form (StoryRequest fields)
   * @param {object} settings the advanced settings, as typed (strings)
   */
  generate(request, settings) {
    this.worker.postMessage({ type: "generate", request, settings });
  }

  /** Stop the running story within one model step. */
  stop() {
    this.worker.postMessage({ type: "stop" });
  }

  request(type, fields = {}) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ type, id, ...fields });
    });
  }

  /**
   * A random story idea from pyshell.prompts.surprise.
   * @param {string} language @param {string} length
   * @returns {Promise<object>} {character, setting, theme, tone, language} or {error}
   */
  surprise(language, length) {
    return this.request("surprise", { language, length });
  }

  /**
   * Measure prefill and decode speed on the current backend (speed-check.js).
   * @returns {Promise<object>} the measurement, or {error}
   */
  speedCheck() {
    return this.request("speed-check");
  }

  /** @returns {Promise<{python_heap_bytes: number | null, kv_tokens: number}>} */
  memory() {
    return this.request("memory");
  }
}
