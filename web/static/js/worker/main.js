// The module worker: Pyodide, the onnxruntime-web session and the generation loop.
//
// The page (page/worker-client.js) only renders; everything slow happens here.
// Python (pyshell.browser) drives the loop and calls the OrtRunner for each model
// step. Requests, events and replies are shared/protocol.js's: every request gets
// exactly one terminal reply, also one that arrives while a story or the speed
// check holds the model (a BusyError). Long requests send `alive` events while they
// run (worker/heartbeat.js). When the WebGPU device is lost or a WebGPU step fails
// (worker/gpu-loss.js), the model moves to WASM and the story is written again.

import {
  BusyError, ConteurError, GenerationError, GpuLostError, ModelConfigError, SpeedCheckError,
  StoryInputError, SurpriseError, toMessage,
} from "../shared/errors.js";
import { msg, translate } from "../shared/i18n.js";
import { pyshellMessage } from "../shared/pyshell-codes.js";
import { EVENT, failureReply, REPLY, REQUEST } from "../shared/protocol.js";
import { measureSpeed } from "../shared/speed-check.js";
import { describeBackend, describeBackendMessage } from "./backend-choice.js";
import { releaseFile } from "./chunked-file.js";
import { keepAlive } from "./heartbeat.js";
import { fetchModelFile, readConfig } from "./model-files.js";
import { loadModel, releaseSoon, switchToWasm } from "./model-loader.js";
import { OrtRunner, WASM_MAX_RUN, WEBGPU_MAX_RUN } from "./ort-runner.js";
import { bootPython, startReadingSnapshot, writeFile } from "./pyodide-boot.js";
import { openRestRows } from "./rest-rows.js";

const BASE = new URL("../../", import.meta.url); // the site root (this file is js/worker/main.js)
const TOKENIZER_DIR = "/model";
const post = (message) => self.postMessage(message);

/** What the worker holds between requests. */
const state = {
  /** @type {Promise<{pyodide: object, browser: object, seconds: number}> | null} from init on */
  python: null,
  /** @type {OrtRunner | null} the model, once ready */
  runner: null,
  /** @type {import("./gpu-loss.js").GpuGuard | null} the WebGPU device's guard (null on WASM) */
  gpu: null,
  /** @type {import("../shared/model-config.js").ModelConfig | null} conteur.json, once read */
  config: null,
  /** @type {object | null} where and what runs, for the speed check (once ready) */
  backendInfo: null,
  /** @type {"story" | "speed-check" | null} what holds the runner now */
  task: null,
  /** @type {number | null} runner.steps when "stop" arrived: the story must end within one step */
  stepsAtStop: null,
};

const HANDLERS = {
  [REQUEST.init]: init,
  [REQUEST.generate]: generate,
  [REQUEST.stop]: stop,
  [REQUEST.surprise]: surprise,
  [REQUEST.memory]: memory,
  [REQUEST.speedCheck]: speedCheck,
};

self.onmessage = ({ data: request }) => {
  const handler = HANDLERS[request?.type];
  if (!handler) {
    post(failureReply(request ?? {}, toMessage(new Error(`unknown request ${JSON.stringify(request?.type)}`), false)));
    return;
  }
  // A handler posts its own terminal reply; anything it throws becomes that reply.
  const stopBeating = keepAlive(post, request);
  Promise.resolve(handler(request))
    .catch((error) => post(failureReply(request, toMessage(error, request.type === REQUEST.init))))
    .finally(stopBeating);
};

// --- start-up --------------------------------------------------------------------

/** @param {import("../shared/protocol.js").InitRequest} request */
async function init(request) {
  const { id, backend = "auto", explicit = false, ortVersion = "unknown", failedChecks = [], pendingChecks = [] } = request;
  if (state.python) throw new Error("the worker has already started");
  const started = performance.now();
  const emit = (type, fields) => post({ type, id, ...fields });
  emit(EVENT.phase, { key: "phase.python", message: "Starting Python and fetching the model…" });
  const snapshot = startReadingSnapshot(BASE);
  state.python = bootPython(BASE, { snapshot });
  state.python.then(({ seconds }) => emit(EVENT.pythonReady, { seconds }), () => {});
  await snapshot.read; // before the model files: both come from the Cache API (pyodide-boot.js)
  const choices = {
    preference: backend, explicit, ortVersion,
    failedChecks: new Set(failedChecks), pendingChecks: new Set(pendingChecks),
  };
  const config = await readConfig(BASE);
  state.config = config;
  const report = loadReport(emit, config);
  // The build's snapshot of Python holds the tokenizer already (pyshell.browser.prepared);
  // an interpreter that started afresh loads it while the graph is still downloading,
  // which keeps it off the path to "ready".
  const tokenizer = state.python.then((py) => tokenizerInfo(py, config, report.progress));
  const [{ tokenizer_from, ...info }, model, py] = await Promise.all([tokenizer, loadModel(BASE, config, choices, report, started), state.python]);
  useModel(model, ortVersion);
  emit(REPLY.ready, {
    model: info,
    timings: {
      python_s: py.seconds,
      files_s: model.filesSeconds,
      session_s: model.sessionSeconds,
      self_check_s: model.checkSeconds,
      total_s: (performance.now() - started) / 1000,
      python_from: py.from,
      tokenizer_from,
    },
  });
}

/** What the page hears while a model loads, as events of the request `emit` answers. */
function loadReport(emit, config) {
  return {
    progress: (p) => emit(EVENT.progress, p),
    phase: (key, message) => emit(EVENT.phase, { key, message }),
    backend: (choice) => emit(EVENT.backend, backendEvent(choice, config)),
    selfCheck: (key, verdict) => emit(EVENT.selfCheck, { key, ...verdict }),
  };
}

/** Make a loaded model (worker/model-loader.js LoadedModel) the one stories run on. */
function useModel(model, ortVersion) {
  const config = state.config;
  const maxRun = model.backend === "webgpu" ? WEBGPU_MAX_RUN : WASM_MAX_RUN;
  const rest = model.backend === "wasm" ? config.graphs.wasm.rest : null;
  const restRows = rest ? () => openRestRows(BASE, config, rest) : null; // opened by the first run
  const kvCache = config.graphs[model.backend].kvCache;
  state.runner = new OrtRunner(model.ort, model.session, config, kvCache, maxRun, restRows);
  state.gpu = model.gpu;
  state.backendInfo = {
    backend: model.backend,
    adapter: model.detail,
    check: model.check,
    onnxruntime_web: ortVersion,
    model: config.label,
    head: config.graphs[model.backend].head,
    promptIds: config.selfCheck.promptIds,
  };
}

/**
 * After the WebGPU device was lost or a WebGPU step failed: drop the WebGPU session
 * and load the WASM graph, reporting through `emit` (the request that needs the model).
 * Nothing happens while the GPU works.
 */
async function leaveFailedGpu(emit) {
  if (!state.gpu?.failed) return;
  console.warn(`[conteur] WebGPU failed, moving to WASM: ${state.gpu.failure?.message ?? state.gpu.failure}`);
  const detail = await state.gpu.why();
  const old = state.runner;
  state.runner = null;
  state.gpu = null;
  try {
    old?.disposePast();
  } catch {
    // Buffers of a lost device may refuse to be freed: they go with the device.
  }
  if (old) releaseSoon(old.session);
  const model = await switchToWasm(BASE, state.config, loadReport(emit, state.config), msg("notice.gpuLost", { detail }));
  useModel(model, state.backendInfo.onnxruntime_web);
}

/** The backend event for `choice` (shared/protocol.js BackendEvent). */
function backendEvent(choice, config) {
  const notice = choice.notice ? translate("en", choice.notice.key, choice.notice.params) : "";
  return {
    name: choice.kind, detail: describeBackend(choice), notice, check: choice.check,
    detailMessage: describeBackendMessage(choice), noticeMessage: choice.notice,
    head: config.graphs[choice.kind].head,
  };
}

/** The model's facts from pyshell once its tokenizer is loaded, from the snapshot or here. */
async function tokenizerInfo(py, config, progress) {
  const prepared = py.browser.prepared(config.text);
  if (prepared !== "null") return { ...JSON.parse(prepared), tokenizer_from: "snapshot" };
  return { ...loadTokenizer(py, config, await fetchTokenizer(config, progress)), tokenizer_from: "file" };
}

/** The tokenizer's pieces table (tokenizer.pieces), checked against conteur.json. */
async function fetchTokenizer(config, progress) {
  // Its pieces table alone: the same pieces as tokenizer.model (5.2 MB), which the
  // page never downloads; fetchModelFile checked its sha256 against conteur.json.
  return fetchModelFile(BASE, config, config.tokenizer.pieces, progress);
}

/** Write the tokenizer's pieces table into Pyodide and load it there (pyshell.browser.init). */
function loadTokenizer(py, config, pieces) {
  // No phase message: the graph is usually still downloading, and the status line
  // keeps saying so ("Starting Python and fetching the model…").
  const piecesPath = `${TOKENIZER_DIR}/${config.tokenizer.pieces}`;
  writeFile(py.pyodide, piecesPath, pieces);
  releaseFile(pieces); // Pyodide's file system keeps its own copy
  const info = JSON.parse(py.browser.init(config.text, piecesPath));
  if (info.error) throw new ModelConfigError(info.error.message, pyshellMessage(info.error, "pyshellCode.model_config"));
  return info;
}

// --- stories -----------------------------------------------------------------------

/**
 * Take the runner for `task`, or say why not. Called before any await, so a request
 * that arrives while the task runs finds it taken (and gets a BusyError).
 * @param {"story" | "speed-check"} task
 * @param {() => Error} notLoaded the error when the model is not loaded yet
 * @returns {Error | null} null: the runner is the task's until it sets state.task back
 */
function claimRunner(task, notLoaded) {
  if (state.task) return new BusyError(state.task);
  if (!state.runner) return notLoaded();
  state.task = task;
  return null;
}

/**
 * Write one story: prompt, token and notice events, then done or error. When the GPU
 * fails mid-story the story is written again on WASM, from the same request and
 * settings (the page sends the seed it drew), after a `restart` event.
 * @param {import("../shared/protocol.js").GenerateRequest} request
 */
async function generate({ id, request, settings }) {
  const fail = (error) => post({ type: REPLY.error, id, error: toMessage(error, false) });
  const refused = claimRunner("story", () => new GenerationError("the model is not loaded yet"));
  if (refused) return fail(refused);
  state.stepsAtStop = null;
  const emit = (type, fields) => post({ type, id, ...fields });
  const events = {
    prompt: (text) => post({ type: EVENT.prompt, id, text }),
    token: (text, index, tokensPerSecond) => post({ type: EVENT.token, id, text, index, tokensPerSecond }),
    notice: (text, code, params) => post({ type: EVENT.notice, id, text, code, params: JSON.parse(params) }),
  };
  try {
    const { browser } = await state.python;
    await leaveFailedGpu(emit); // the device may have gone since the last story
    const write = () => browser.generate_story(state.runner, JSON.stringify(request), JSON.stringify(settings), events);
    let json;
    try {
      json = await write();
    } catch (error) {
      if (!state.gpu?.failed) throw error;
      await leaveFailedGpu(emit);
      if (state.stepsAtStop !== null) throw new GpuLostError(String(error?.message ?? error).slice(0, 300)); // stopped: not again
      emit(EVENT.restart, { key: "status.gpuRestart", message: translate("en", "status.gpuRestart"), backend: "wasm" });
      json = await write();
    }
    const runner = state.runner;
    const result = JSON.parse(json);
    if (result.error?.kind === "input") {
      fail(new StoryInputError(result.error));
    } else if (result.error) {
      fail(new GenerationError(result.error.message, result.error));
    } else {
      result.first_candidates = runner.firstCandidates;
      if (state.stepsAtStop !== null) result.steps_after_stop = runner.steps - state.stepsAtStop;
      post({ type: REPLY.done, id, result });
    }
  } catch (error) {
    const detail = String(error?.message ?? error).split("\n").filter(Boolean).slice(-3).join(" ");
    fail(error instanceof ConteurError ? error : new GenerationError(detail));
  } finally {
    state.task = null;
  }
}

/** Stop the running story within one model step; it then ends with `done`. */
async function stop({ id }) {
  const stopping = state.task === "story";
  if (stopping) {
    const { browser } = await state.python;
    state.stepsAtStop = state.runner?.steps ?? 0; // no runner while moving to WASM
    browser.cancel();
  }
  post({ type: REPLY.reply, id, value: { stopping } });
}

/** The Advanced panel's speed check: prefill and decode tokens/s on this backend. */
async function speedCheck({ id }) {
  const fail = (error) => post({ type: REPLY.reply, id, error: toMessage(error, false) });
  const refused = claimRunner("speed-check", () => new SpeedCheckError("the model is not loaded yet"));
  if (refused) return fail(refused);
  const emit = (type, fields) => post({ type, id, ...fields });
  try {
    await leaveFailedGpu(emit);
    post({ type: REPLY.reply, id, value: await measureSpeed(state.runner, state.backendInfo) });
  } catch (error) {
    // After a GPU failure the next request that needs the model moves it to WASM.
    const detail = state.gpu?.failed ? translate("en", "speedCheck.gpuLost") : String(error?.message ?? error);
    fail(error instanceof ConteurError ? error : new SpeedCheckError(detail));
  } finally {
    state.task = null;
  }
}

/**
 * A story idea from pyshell.prompts (Python alone: it may run beside a story). pyshell
 * reports a refused value as {error}; anything it throws is a SurpriseError, an
 * ordinary error the page shows while it keeps working.
 */
async function surprise({ id, language, length }) {
  if (!state.python) throw new SurpriseError("Python has not started");
  const { browser } = await state.python;
  let idea;
  try {
    idea = JSON.parse(browser.surprise_me(language, length));
  } catch (error) {
    throw new SurpriseError(String(error?.message ?? error).split("\n").filter(Boolean).slice(-2).join(" "));
  }
  post({ type: REPLY.reply, id, value: idea });
}

async function memory({ id }) {
  let pythonHeap = null;
  try {
    const { pyodide } = await state.python;
    pythonHeap = pyodide._module?.HEAP8?.byteLength ?? null;
  } catch {
    // Python never started: nothing to measure.
  }
  post({ type: REPLY.reply, id, value: { python_heap_bytes: pythonHeap, kv_tokens: state.runner?.position ?? 0 } });
}
