// The page's handle on the module worker (worker/main.js), which does all the work.
//
// Requests go out with an id (shared/protocol.js). The events and terminal replies
// of `init` and `generate` are re-dispatched as DOM events of the same `type`, with
// the message as `event.detail` (its `id` names the request); the other requests
// return a promise of their `reply`. If the worker dies, every request still open
// ends with a WorkerCrashError; if it stops answering (page/watchdog.js), the worker is
// stopped and every open request ends with an EngineStalledError. Either way the
// requests sent afterwards end at once with the same error: nothing waits for ever.

import { EngineStalledError, toMessage, WorkerCrashError } from "../shared/errors.js";
import { ENDS_WITH, failureReply, isTerminal, REPLY, REQUEST } from "../shared/protocol.js";
import { STALLED_TASK, STOP_LIMIT_MS, Watchdog } from "./watchdog.js";

/** The main thread's handle on the worker: requests in, DOM events and replies out. */
export class WorkerClient extends EventTarget {
  /** @param {URL | string} workerUrl */
  constructor(workerUrl) {
    super();
    this.worker = new Worker(workerUrl, { type: "module", name: "conteur-engine" });
    /** @type {Map<number, {type: string, resolve?: (reply: object) => void}>} requests not ended yet */
    this.open = new Map();
    this.nextId = 1;
    /** @type {import("../shared/errors.js").ErrorMessage | null} why the worker is gone, once it is */
    this.gone = null;
    this.watchdog = new Watchdog((id, type, seconds) => this.stall(type, seconds));
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.crash(event.message || "the worker script failed to load");
    };
  }

  /** @param {object} message an event or reply from the worker */
  receive(message) {
    const request = this.open.get(message.id);
    if (isTerminal(message)) {
      this.open.delete(message.id);
      this.watchdog.forget(message.id);
    } else {
      this.watchdog.heard(message.id);
    }
    if (message.type === REPLY.reply) request?.resolve?.(message);
    else this.emit(message);
  }

  emit(message) {
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
  }

  /** The worker died: every open request ends with a WorkerCrashError. */
  crash(detail) {
    this.end(toMessage(new WorkerCrashError(detail)));
  }

  /**
   * A request of `type` heard nothing for `seconds`: stop the worker (a late answer
   * must not come back into a page that moved on) and end every open request.
   */
  stall(type, seconds) {
    this.worker.terminate();
    this.end(toMessage(new EngineStalledError(STALLED_TASK[type] ?? STALLED_TASK[REQUEST.init], seconds)));
  }

  /** End every open request with `error`; with none open, report it as an `error` event. */
  end(error) {
    if (this.gone) return;
    this.gone = error;
    this.watchdog.clear();
    const open = [...this.open.entries()];
    this.open.clear();
    for (const [id, request] of open) this.receive(failureReply({ type: request.type, id }, error));
    if (!open.length) this.emit({ type: REPLY.error, id: null, error });
  }

  /**
   * Send a request; its terminal reply must come (shared/protocol.js ENDS_WITH).
   * @returns {number} the request's id
   */
  send(type, fields = {}, resolve = undefined) {
    if (!ENDS_WITH[type]) throw new Error(`unknown request ${type}`);
    const id = this.nextId++;
    this.open.set(id, { type, resolve });
    if (this.gone) {
      queueMicrotask(() => this.receive(failureReply({ type, id }, this.gone))); // after the caller has the id
      return id;
    }
    this.watchdog.watch(id, type);
    this.worker.postMessage({ type, id, ...fields });
    return id;
  }

  /** A request answered by `reply`: resolves to it ({value} or {error}). */
  ask(type, fields = {}) {
    return new Promise((resolve) => this.send(type, fields, resolve));
  }

  /**
   * Boot Python and load the model; ends with a `ready` or `error` event.
   * @param {{backend: "auto" | "webgpu" | "wasm", explicit: boolean, ortVersion: string, failedChecks: string[]}} options
   *   failedChecks: verdict keys of adapters that failed the WebGPU self-check before
   * @returns {number} the request's id
   */
  start(options) {
    return this.send(REQUEST.init, options);
  }

  /**
   * Write one story: prompt/token/notice events, then `done` or `error` with this id.
   * @param {object} request the story form (StoryRequest fields)
   * @param {object} settings the advanced settings, as typed (strings)
   * @returns {number} the story's id
   */
  generate(request, settings) {
    return this.send(REQUEST.generate, { request, settings });
  }

  /**
   * Stop the running story within one model step; it must then end within
   * STOP_LIMIT_MS (page/watchdog.js), or the engine counts as stalled.
   * @returns {Promise<{value?: {stopping: boolean}, error?: object}>}
   */
  stop() {
    for (const [id, request] of this.open) {
      if (request.type === REQUEST.generate) this.watchdog.deadline(id, STOP_LIMIT_MS);
    }
    return this.ask(REQUEST.stop);
  }

  /**
   * A random story idea from pyshell.prompts.surprise.
   * @param {string} language @param {string} length
   * @returns {Promise<{value?: object, error?: object}>} value: {character, setting,
   *   theme, tone, language}, or pyshell's {error: {field, message}}
   */
  surprise(language, length) {
    return this.ask(REQUEST.surprise, { language, length });
  }

  /**
   * Measure prefill and decode speed on the current backend (shared/speed-check.js).
   * @returns {Promise<{value?: object, error?: object}>} the measurement, or why not
   */
  speedCheck() {
    return this.ask(REQUEST.speedCheck);
  }

  /** @returns {Promise<{value?: {python_heap_bytes: number | null, kv_tokens: number}, error?: object}>} */
  memory() {
    return this.ask(REQUEST.memory);
  }
}
