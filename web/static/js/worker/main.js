// The module worker: Pyodide, the onnxruntime-web session and the generation loop.
//
// The page (page/worker-client.js) only renders; everything slow happens here.
// Python (pyshell.browser) drives the loop and calls the OrtRunner for each model
// step. Requests, events and replies are shared/protocol.js's: every request gets
// exactly one terminal reply, also one that arrives while a story or the speed
// check holds the model (a BusyError).

import { BusyError, GenerationError, ModelConfigError, SpeedCheckError, StoryInputError, toMessage } from "../shared/errors.js";
import { translate } from "../shared/i18n.js";
import { pyshellMessage } from "../shared/pyshell-codes.js";
import { EVENT, failureReply, REPLY, REQUEST } from "../shared/protocol.js";
import { measureSpeed } from "../shared/speed-check.js";
import { describeBackend, describeBackendMessage } from "./backend-choice.js";
import { releaseFile } from "./chunked-file.js";
import { fetchModelFile, readConfig } from "./model-files.js";
import { loadModel } from "./model-loader.js";
import { OrtRunner, WEBGPU_MAX_RUN } from "./ort-runner.js";
import { bootPython, writeFile } from "./pyodide-boot.js";

const BASE = new URL("../../", import.meta.url); // the site root (this file is js/worker/main.js)
const TOKENIZER_DIR = "/model";
const post = (message) => self.postMessage(message);

/** What the worker holds between requests. */
const state = {
  /** @type {Promise<{pyodide: object, browser: object, seconds: number}> | null} from init on */
  python: null,
  /** @type {OrtRunner | null} the model, once ready */
  runner: null,
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
  Promise.resolve(handler(request)).catch((error) => {
    post(failureReply(request, toMessage(error, request.type === REQUEST.init)));
  });
};

// --- start-up --------------------------------------------------------------------

/** @param {import("../shared/protocol.js").InitRequest} request */
async function init(request) {
  const { id, backend = "auto", explicit = false, ortVersion = "unknown", failedChecks = [] } = request;
  if (state.python) throw new Error("the worker has already started");
  const started = performance.now();
  const emit = (type, fields) => post({ type, id, ...fields });
  emit(EVENT.phase, { key: "phase.python", message: "Starting Python and fetching the model…" });
  state.python = bootPython(BASE);
  state.python.then(({ seconds }) => emit(EVENT.pythonReady, { seconds }), () => {});
  const choices = { preference: backend, explicit, ortVersion, failedChecks: new Set(failedChecks) };
  const config = await readConfig(BASE);
  const report = {
    progress: (p) => emit(EVENT.progress, p),
    phase: (key, message) => emit(EVENT.phase, { key, message }),
    backend: (choice) => emit(EVENT.backend, backendEvent(choice, config)),
    selfCheck: (key, verdict) => emit(EVENT.selfCheck, { key, ...verdict }),
  };
  // The tokenizer is small: Python loads it while the graph is still downloading,
  // which takes it off the path to "ready" (about 0.3 s on a warm start).
  const tokenizer = Promise.all([state.python, fetchTokenizer(config, report.progress)]).then(
    ([py, files]) => loadTokenizer(py, config, files),
  );
  const [info, model, py] = await Promise.all([tokenizer, loadModel(BASE, config, choices, report, started), state.python]);
  const maxRun = model.backend === "webgpu" ? WEBGPU_MAX_RUN : Infinity;
  state.runner = new OrtRunner(model.ort, model.session, config, maxRun);
  state.backendInfo = {
    backend: model.backend,
    adapter: model.detail,
    check: model.check,
    onnxruntime_web: ortVersion,
    model: config.label,
    head: config.graphs[model.backend].head,
    promptIds: config.selfCheck.promptIds,
  };
  emit(REPLY.ready, {
    model: info,
    timings: {
      python_s: py.seconds,
      files_s: model.filesSeconds,
      session_s: model.sessionSeconds,
      self_check_s: model.checkSeconds,
      total_s: (performance.now() - started) / 1000,
    },
  });
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

/** The tokenizer's files: the SentencePiece model and its fast-load cache. */
async function fetchTokenizer(config, progress) {
  const fetchOne = (name) => fetchModelFile(BASE, config, name, progress);
  const [model, pieces] = await Promise.all([fetchOne(config.tokenizer.model), fetchOne(config.tokenizer.pieces)]);
  return { model, pieces };
}

/** Write the tokenizer's files into Pyodide and load them there (pyshell.browser.init). */
function loadTokenizer(py, config, files) {
  // No phase message: the graph is usually still downloading, and the status line
  // keeps saying so ("Starting Python and fetching the model…").
  const modelPath = `${TOKENIZER_DIR}/${config.tokenizer.model}`;
  writeFile(py.pyodide, modelPath, files.model);
  writeFile(py.pyodide, `${TOKENIZER_DIR}/${config.tokenizer.pieces}`, files.pieces);
  releaseFile(files.model); // Pyodide's file system keeps its own copy
  releaseFile(files.pieces);
  const info = JSON.parse(py.browser.init(config.text, modelPath));
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
  if (!state.runner) return notLoaded();
  if (state.task) return new BusyError(state.task);
  state.task = task;
  return null;
}

/**
 * Write one story: prompt, token and notice events, then done or error.
 * @param {import("../shared/protocol.js").GenerateRequest} request
 */
async function generate({ id, request, settings }) {
  const fail = (error) => post({ type: REPLY.error, id, error: toMessage(error, false) });
  const refused = claimRunner("story", () => new GenerationError("the model is not loaded yet"));
  if (refused) return fail(refused);
  state.stepsAtStop = null;
  const runner = state.runner;
  const events = {
    prompt: (text) => post({ type: EVENT.prompt, id, text }),
    token: (text, index, tokensPerSecond) => post({ type: EVENT.token, id, text, index, tokensPerSecond }),
    notice: (text, code, params) => post({ type: EVENT.notice, id, text, code, params: JSON.parse(params) }),
  };
  try {
    const { browser } = await state.python;
    const json = await browser.generate_story(runner, JSON.stringify(request), JSON.stringify(settings), events);
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
    fail(new GenerationError(detail));
  } finally {
    state.task = null;
  }
}

/** Stop the running story within one model step; it then ends with `done`. */
async function stop({ id }) {
  const stopping = state.task === "story";
  if (stopping) {
    const { browser } = await state.python;
    state.stepsAtStop = state.runner.steps;
    browser.cancel();
  }
  post({ type: REPLY.reply, id, value: { stopping } });
}

/** The Advanced panel's speed check: prefill and decode tokens/s on this backend. */
async function speedCheck({ id }) {
  const fail = (error) => post({ type: REPLY.reply, id, error: toMessage(error, false) });
  const refused = claimRunner("speed-check", () => new SpeedCheckError("the model is not loaded yet"));
  if (refused) return fail(refused);
  try {
    post({ type: REPLY.reply, id, value: await measureSpeed(state.runner, state.backendInfo) });
  } catch (error) {
    fail(new SpeedCheckError(String(error?.message ?? error)));
  } finally {
    state.task = null;
  }
}

/** A story idea from pyshell.prompts (Python alone: it may run beside a story). */
async function surprise({ id, language, length }) {
  if (!state.python) throw new Error("Python has not started");
  const { browser } = await state.python;
  post({ type: REPLY.reply, id, value: JSON.parse(browser.surprise_me(language, length)) });
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
