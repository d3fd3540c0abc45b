// The messages between the page (page/worker-client.js) and the module worker
// (worker/main.js): their names, their payloads, and which reply ends each request.
// Both sides import the names from here; docs/architecture.md draws the exchange.
//
// Every request the page sends carries an `id` (unique per page) and gets exactly
// one terminal reply with that id; events on the way carry it too:
//
//   init         events phase, progress, backend, self-check, python-ready → ready | error
//   generate     events prompt, token, notice, backend, restart             → done | error
//   stop, surprise, memory, speed-check                                     → reply
//
// The worker answers every request, also one that arrives while it is busy: a story
// or a speed check while the other runs gets a BusyError (errors.js) as its reply.
// While a long request (init, generate, speed-check) runs, the worker also sends it an
// `alive` event every few seconds (worker/heartbeat.js): the page's watchdog
// (page/watchdog.js) ends a request that hears nothing for too long, so the page never
// waits for an answer for ever.
// Texts for the reader travel in English (`message`, `detail`, `notice`) and as
// i18n.js messages ({key, params}), which the page shows in the interface language.

/** Requests, page → worker. */
export const REQUEST = Object.freeze({
  init: "init",
  generate: "generate",
  stop: "stop",
  surprise: "surprise",
  memory: "memory",
  speedCheck: "speed-check",
});

/** Events, worker → page, on the way to a terminal reply. */
export const EVENT = Object.freeze({
  phase: "phase",
  progress: "progress",
  backend: "backend",
  selfCheck: "self-check",
  pythonReady: "python-ready",
  prompt: "prompt",
  token: "token",
  notice: "notice",
  alive: "alive",
  restart: "restart",
});

/** Terminal replies, worker → page: each ends one request. */
export const REPLY = Object.freeze({
  ready: "ready",
  done: "done",
  reply: "reply",
  error: "error",
});

/** The replies each request may end with (exactly one of them arrives). */
export const ENDS_WITH = Object.freeze({
  [REQUEST.init]: [REPLY.ready, REPLY.error],
  [REQUEST.generate]: [REPLY.done, REPLY.error],
  [REQUEST.stop]: [REPLY.reply],
  [REQUEST.surprise]: [REPLY.reply],
  [REQUEST.memory]: [REPLY.reply],
  [REQUEST.speedCheck]: [REPLY.reply],
});

// --- payloads ------------------------------------------------------------------------

/**
 * @typedef {import("./errors.js").ErrorMessage} ErrorMessage
 * @typedef {import("./i18n.js").Message} Message
 * @typedef {import("./model-config.js").Head} Head
 */

/**
 * Requests (each also has `type` and `id`).
 * @typedef {{type: "init", id: number, backend: "auto" | "webgpu" | "wasm", explicit: boolean,
 *            ortVersion: string, failedChecks: string[], pendingChecks: string[]}} InitRequest
 *   explicit: the URL named the backend; failedChecks: verdict keys of adapters that
 *   failed the WebGPU self-check before; pendingChecks: keys of adapters whose check
 *   began and never ended (the tab closed or the GPU hung in it; page/self-check-verdicts.js)
 * @typedef {{type: "generate", id: number, request: object, settings: object}} GenerateRequest
 *   request: the story form (pyshell StoryRequest fields); settings: the advanced
 *   settings as typed (strings; pyshell checks them)
 * @typedef {{type: "stop", id: number}} StopRequest
 *   ends the running story within one model step; the story then ends with `done`
 * @typedef {{type: "surprise", id: number, language: string, length: string}} SurpriseRequest
 * @typedef {{type: "memory", id: number}} MemoryRequest
 * @typedef {{type: "speed-check", id: number}} SpeedCheckRequest
 * @typedef {InitRequest | GenerateRequest | StopRequest | SurpriseRequest | MemoryRequest
 *           | SpeedCheckRequest} Request
 */

/**
 * Events of `init`.
 * @typedef {{type: "phase", id: number, key: string, message: string}} PhaseEvent
 *   key: the loading step's i18n key; message: its English text
 * @typedef {{type: "progress", id: number, file: string, loaded: number, total: number}} ProgressEvent
 *   file: the site path ("model/NAME"); loaded, total: bytes
 * @typedef {{type: "backend", id: number, name: "webgpu" | "wasm", detail: string,
 *            detailMessage: Message | string, notice: string, noticeMessage: Message | null,
 *            check: "" | "passed" | "failed" | "skipped", head: Head}} BackendEvent
 *   where the model runs, sent again whenever that changes (a fallback to WASM);
 *   detail, notice: English; check: the WebGPU self-check ("" while it runs)
 * @typedef {{type: "self-check", id: number, key: string,
 *            status: "running" | "passed" | "failed" | "skipped",
 *            problems: string[], seconds: number, steps: number}} SelfCheckEvent
 *   key: the verdict's key (adapter, onnxruntime-web version, model); "running" comes
 *   before the check starts (the page saves a "pending" verdict), then its outcome
 * @typedef {{type: "python-ready", id: number, seconds: number}} PythonReadyEvent
 *   Python is up: "surprise me" works before the model has loaded
 */

/**
 * Events of `generate`.
 * @typedef {{type: "prompt", id: number, text: string}} PromptEvent
 *   the opening the story continues
 * @typedef {{type: "token", id: number, text: string, index: number, tokensPerSecond: number}} TokenEvent
 *   index: tokens written so far (1-based)
 * @typedef {{type: "notice", id: number, text: string, code: string, params: object}} NoticeEvent
 *   pyshell's notice (e.g. a prompt shortened to fit): its English text, and its code
 *   and params (pyshell/errors.py) that shared/pyshell-codes.js shows
 * @typedef {{type: "restart", id: number, key: string, message: string, backend: "wasm"}} RestartEvent
 *   the WebGPU device was lost or a WebGPU step failed mid-story (worker/gpu-loss.js):
 *   the worker now runs on WASM (a `backend` event came first) and writes the story
 *   again from the beginning with the same request, settings and seed; its `prompt`
 *   and `token` events follow
 */

/**
 * Event of init, generate and speed-check.
 * @typedef {{type: "alive", id: number}} AliveEvent
 *   the worker's event loop runs and the request is still under way
 */

/**
 * Terminal replies.
 * @typedef {{type: "ready", id: number, model: object,
 *            timings: {python_s: number, files_s: number, session_s: number,
 *                      self_check_s: number, total_s: number,
 *                      python_from: "snapshot" | "start",
 *                      tokenizer_from: "snapshot" | "file"}}} ReadyReply
 *   model: pyshell.browser.init's description of the model; python_from: whether
 *   Python started from the build's snapshot (worker/pyodide-boot.js); tokenizer_from:
 *   whether that snapshot held the model's tokenizer (pyshell.browser.prepared) or
 *   the worker loaded it from tokenizer.pieces
 * @typedef {{type: "done", id: number, result: object}} DoneReply
 *   result: pyshell's story result (ids, text, stats, stop_reason…) plus
 *   first_candidates and, after a stop, steps_after_stop
 * @typedef {{type: "error", id: number, error: ErrorMessage}} ErrorReply
 *   a failed init (error.fatal) or story; a story the form's values made impossible
 *   has error.field (StoryInputError)
 * @typedef {{type: "reply", id: number, value?: object, error?: ErrorMessage}} Reply
 *   value: stop {stopping: boolean}; surprise {character, setting, theme, tone,
 *   language} or pyshell's {error: {field, code, params, message}}; memory {python_heap_bytes,
 *   kv_tokens}; speed-check the measurement (shared/speed-check.js)
 */

/**
 * True for a message that ends its request.
 * @param {{type: string}} message
 * @returns {boolean}
 */
export function isTerminal(message) {
  return Object.values(REPLY).includes(message.type);
}

/**
 * The terminal reply that reports `error` for `request`, as that request ends.
 * @param {{type: string, id: number}} request
 * @param {ErrorMessage} error
 * @returns {ErrorReply | Reply}
 */
export function failureReply(request, error) {
  const type = ENDS_WITH[request.type]?.includes(REPLY.reply) ? REPLY.reply : REPLY.error;
  return { type, id: request.id, error };
}
