// The module worker: Pyodide, the onnxruntime-web session and the generation loop.
//
// The page (engine.js) only renders; everything slow happens here. Python
// (pyshell.browser) drives the loop and calls the OrtRunner for each model step.
//
// Messages in:  {type: "init", backend, explicit, ortVersion, failedChecks},
//               {type: "generate", request, settings}, {type: "stop"},
//               {type: "surprise", id, language, length}, {type: "memory", id},
//               {type: "speed-check", id}
// Messages out: {type: "phase", key, message}, {type: "progress", file, loaded, total},
//               {type: "backend", name, detail, notice?, check, detailMessage, noticeMessage?, head},
//               {type: "self-check", key, status, problems, seconds, steps},
//               {type: "python-ready", seconds},
//               {type: "ready", model, timings}, {type: "prompt", text},
//               {type: "token", text, index, tokensPerSecond}, {type: "notice", text, code, params},
//               {type: "done", result}, {type: "input-error", field, message, code, params},
//               {type: "error", error}, {type: "reply", id, value}
// Texts for the reader go out in English (`message`, `detail`, `notice`) and as
// i18n.js messages ({key, params}: `key`, `detailMessage`, `noticeMessage`, errors'
// `key`), which the page shows in the interface language. pyshell's errors and notices
// carry its `code` and `params` (pyshell/errors.py) as they came, for pyshell-codes.js;
// an error pyshell reported keeps them in `error.pyshell`.

import { findWebGPU, openSession, wasmThreads } from "./backend.js";
import { CHECK, runSelfCheck, verdictKey } from "./self-check.js";
import { measureSpeed } from "./speed-check.js";
import { ConteurError, GenerationError, ModelConfigError, toMessage } from "./errors.js";
import { msg, translate } from "./i18n.js";
import { pyshellMessage } from "./pyshell-codes.js";
import { releaseFile } from "./chunked-file.js";
import { fetchGraphFiles, fetchModelFile, readConfig } from "./model-files.js";
import { graphFiles, graphFor } from "./model-graphs.js";
import { bootPython, writeFile } from "./python.js";
import { OrtRunner, WEBGPU_MAX_RUN } from "./runner.js";

const BASE = new URL("../", import.meta.url); // the site root (this file is js/worker.js)
const TOKENIZER_DIR = "/model";
const post = (message) => self.postMessage(message);

let python = null; // Promise of {pyodide, browser, seconds}
let runner = null;
let backendInfo = null; // where and what runs, for the speed check (set when ready)
let busy = false;
let stepsAtStop = null; // runner.steps when "stop" arrived: the story must end within one step

self.onmessage = (event) => {
  const message = event.data;
  const handlers = { init, generate, stop, surprise, memory, "speed-check": speedCheck };
  const handler = handlers[message?.type];
  if (!handler) return;
  Promise.resolve(handler(message)).catch((error) => post({ type: "error", error: toMessage(error) }));
};

// --- start-up --------------------------------------------------------------------

async function init({ backend = "auto", explicit = false, ortVersion = "unknown", failedChecks = [] }) {
  const started = performance.now();
  post({ type: "phase", key: "phase.python", message: "Starting Python and fetching the model…" });
  python = bootPython(BASE);
  python.then(({ seconds }) => post({ type: "python-ready", seconds }), () => {});
  const choices = { preference: backend, explicit, ortVersion, failedChecks: new Set(failedChecks) };
  const filesStarted = performance.now();
  const config = await readConfig(BASE);
  const progress = (p) => post({ type: "progress", ...p });
  // The tokenizer is small: Python loads it while the graph is still downloading,
  // which takes it off the path to "ready" (about 0.3 s on a warm start).
  const tokenizer = Promise.all([python, fetchTokenizer(config, progress)]).then(
    ([py, files]) => loadTokenizer(py, config, files),
  );
  const [info, model, py] = await Promise.all([tokenizer, loadModel(choices, config, progress, filesStarted), python]);
  const maxRun = model.backend === "webgpu" ? WEBGPU_MAX_RUN : Infinity;
  runner = new OrtRunner(model.ort, model.session, model.config, maxRun);
  backendInfo = {
    backend: model.backend,
    adapter: model.detail,
    check: model.check,
    onnxruntime_web: ortVersion,
    model: `${model.config.name} ${model.config.export_version}`,
    head: model.head,
    promptIds: model.config.self_check?.prompt_ids ?? [model.config.tokens?.bos ?? 2],
  };
  post({
    type: "ready",
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

/** Write the tokenizer's files into Pyodide and load them there (pyshell.browser.init). */
function loadTokenizer(py, config, files) {
  // No phase message: the graph is usually still downloading, and the status line
  // keeps saying so ("Starting Python and fetching the model…").
  writeFile(py.pyodide, `${TOKENIZER_DIR}/tokenizer.model`, files.model);
  if (files.pieces) writeFile(py.pyodide, `${TOKENIZER_DIR}/tokenizer.pieces`, files.pieces);
  releaseFile(files.model); // Pyodide's file system keeps its own copy
  releaseFile(files.pieces);
  const info = JSON.parse(py.browser.init(JSON.stringify(config), `${TOKENIZER_DIR}/tokenizer.model`));
  if (info.error) throw new ModelConfigError(info.error.message, pyshellMessage(info.error, "pyshellCode.model_config"));
  return info;
}

/**
 * Where to run. Automatic takes a hardware WebGPU adapter; a software (fallback)
 * adapter emulates the GPU on the CPU and is slower than WASM, so only a WebGPU
 * choice takes it. An adapter that failed the self-check before goes straight to
 * WASM, unless the URL asks for WebGPU (`explicit`): then it is checked again.
 */
async function chooseBackend({ preference, explicit, ortVersion, failedChecks }, config) {
  if (preference === "wasm") return { kind: "wasm", notice: null, check: CHECK.skipped };
  const gpu = await findWebGPU();
  if (!gpu) {
    return {
      kind: "wasm",
      check: CHECK.skipped,
      notice: msg("notice.noWebgpu"),
    };
  }
  const key = verdictKey(gpu.description, ortVersion, config);
  if (preference === "auto" && gpu.fallback) {
    return {
      kind: "wasm",
      check: CHECK.skipped,
      notice: msg("notice.softwareOnly", { adapter: gpu.description }),
    };
  }
  if (!explicit && failedChecks.has(key)) {
    return {
      kind: "wasm",
      check: CHECK.failed,
      notice: msg("notice.failedBefore", { adapter: gpu.description }),
    };
  }
  return { kind: "webgpu", gpu, key, check: "", notice: fallbackNotice(gpu) };
}

function fallbackNotice(gpu) {
  return gpu.fallback ? msg("notice.softwareAdapter") : null;
}

/** Where the model runs, as a message (js/locales/) for the interface language. */
function describeBackendMessage(choice) {
  if (choice.kind === "webgpu") {
    return choice.gpu.fallback ? msg("backend.software", { adapter: choice.gpu.description }) : choice.gpu.description;
  }
  const threads = msg("backend.threads", { count: wasmThreads() });
  return globalThis.crossOriginIsolated ? threads : msg("backend.notIsolated", { threads });
}

/** The same description in English: the test hook, the speed check and the bench read it. */
function describeBackend(choice) {
  const message = describeBackendMessage(choice);
  return typeof message === "string" ? message : translate("en", message.key, message.params);
}

function announce(choice, config) {
  const notice = choice.notice ? translate("en", choice.notice.key, choice.notice.params) : "";
  post({
    type: "backend", name: choice.kind, detail: describeBackend(choice), notice, check: choice.check,
    detailMessage: describeBackendMessage(choice), noticeMessage: choice.notice,
    head: graphFor(config, choice.kind).head,
  });
}

async function loadModel(choices, config, progress, filesStarted) {
  let choice = await chooseBackend(choices, config);
  announce(choice, config);
  // The downloaded graph files (name → bytes): the only reference to them, cleared
  // once a session holds the weights, so they live once, in onnxruntime's heap.
  const held = new Map();
  await fetchGraphFiles(BASE, config, graphFor(config, choice.kind), progress, held, { chunked: choice.kind === "wasm" });
  const filesSeconds = (performance.now() - filesStarted) / 1000;

  post({ type: "phase", key: "phase.preparing", message: "Preparing the model…" });
  const sessionStarted = performance.now();
  const open = (kind) => openGraph(kind, config, held, progress);
  let opened;
  let checkSeconds = 0;
  try {
    opened = await open(choice.kind);
  } catch (error) {
    if (choice.kind !== "webgpu") throw error;
    const detail = error instanceof ConteurError ? error.detail : String(error);
    choice = { kind: "wasm", check: CHECK.skipped, notice: msg("notice.webgpuFailed", { detail: detail.slice(0, 160) }) };
    announce(choice, config);
    opened = await open("wasm");
  }
  if (choice.kind === "webgpu") {
    post({ type: "phase", key: "phase.selfCheck", message: "Checking that the graphics adapter computes correctly…" });
    const verdict = await checkAdapter(opened, config);
    checkSeconds = verdict.seconds;
    post({ type: "self-check", key: choice.key, ...verdict });
    if (verdict.status === CHECK.failed) {
      await opened.session.release().catch(() => {});
      choice = {
        kind: "wasm",
        check: CHECK.failed,
        notice: msg("notice.failedNow", { adapter: choice.gpu.description }),
      };
      announce(choice, config);
      opened = await open("wasm");
    } else {
      choice.check = verdict.status;
      announce(choice, config);
    }
  }
  releaseAll(held);
  return {
    config,
    backend: choice.kind,
    detail: describeBackend(choice),
    check: choice.check,
    head: graphFor(config, choice.kind).head,
    ort: opened.ort,
    session: opened.session,
    filesSeconds,
    checkSeconds,
    sessionSeconds: (performance.now() - sessionStarted) / 1000,
  };
}

/**
 * Open `kind`'s graph, first downloading what `held` lacks (a fallback to WASM).
 * Afterwards `held` keeps only the files the WASM graph would reuse, should WebGPU
 * fail its self-check; the rest may be collected now.
 */
async function openGraph(kind, config, held, progress) {
  const graph = graphFor(config, kind);
  try {
    await fetchGraphFiles(BASE, config, graph, progress, held, { chunked: kind === "wasm" });
    const externalData = graph.data.map((path) => ({ path, data: held.get(path) }));
    const presentNames = OrtRunner.presentNames(config);
    return await openSession(kind, BASE, { graph: held.get(graph.model), externalData, presentNames });
  } finally {
    keepOnly(held, graphFiles(graphFor(config, "wasm")));
  }
}

function keepOnly(held, names) {
  for (const [name, bytes] of held) {
    if (names.includes(name) && !bytes.handedOver) continue; // a file one session consumed is gone
    releaseFile(bytes);
    held.delete(name);
  }
}

/**
 * Free the downloaded files now, not at the next garbage collection: the session
 * holds its own copy, and 220 MB of garbage would otherwise linger past start-up
 * (measured: the page stayed ~285 MB higher for seconds after "ready").
 */
function releaseAll(held) {
  for (const bytes of held.values()) releaseFile(bytes);
  held.clear();
}

/** The tokenizer's files: the SentencePiece model, and its fast-load cache when exported. */
async function fetchTokenizer(config, progress) {
  const fetchOne = (name) => fetchModelFile(BASE, config, name, progress);
  const [model, pieces] = await Promise.all([
    fetchOne("tokenizer.model"),
    config.files["tokenizer.pieces"] ? fetchOne("tokenizer.pieces") : null,
  ]);
  return { model, pieces };
}

/** The self-check on a fresh WebGPU session; a kernel that throws fails it too. */
async function checkAdapter(opened, config) {
  const probe = new OrtRunner(opened.ort, opened.session, config, WEBGPU_MAX_RUN);
  try {
    return await runSelfCheck(probe, config.self_check);
  } catch (error) {
    return { status: CHECK.failed, problems: [`the check could not run: ${String(error?.message ?? error).slice(0, 200)}`], seconds: 0, steps: 0 };
  }
}

// --- stories -----------------------------------------------------------------------

async function generate({ request, settings }) {
  if (!runner) {
    post({ type: "error", error: toMessage(new GenerationError("the model is not loaded yet"), false) });
    return;
  }
  if (busy) return; // the page disables Generate while a story runs
  busy = true;
  stepsAtStop = null;
  const { browser } = await python;
  const events = {
    prompt: (text) => post({ type: "prompt", text }),
    token: (text, index, tokensPerSecond) => post({ type: "token", text, index, tokensPerSecond }),
    notice: (text, code, params) => post({ type: "notice", text, code, params: JSON.parse(params) }),
  };
  try {
    const json = await browser.generate_story(runner, JSON.stringify(request), JSON.stringify(settings), events);
    const result = JSON.parse(json);
    if (result.error?.kind === "input") {
      const { field, message, code, params } = result.error;
      post({ type: "input-error", field, message, code, params });
    } else if (result.error) {
      post({ type: "error", error: { ...toMessage(new GenerationError(result.error.message), false), pyshell: result.error } });
    } else {
      result.first_candidates = runner.firstCandidates;
      if (stepsAtStop !== null) result.steps_after_stop = runner.steps - stepsAtStop;
      post({ type: "done", result });
    }
  } catch (error) {
    const detail = String(error?.message ?? error).split("\n").filter(Boolean).slice(-3).join(" ");
    post({ type: "error", error: toMessage(new GenerationError(detail), false) });
  } finally {
    busy = false;
  }
}

async function stop() {
  if (!python || !busy) return;
  const { browser } = await python;
  stepsAtStop = runner.steps;
  browser.cancel();
}

/** The Advanced panel's speed check: prefill and decode tokens/s on this backend. */
async function speedCheck({ id }) {
  if (!runner || busy) {
    post({ type: "reply", id, value: { error: busy ? "a story is being written" : "the model is not loaded yet" } });
    return;
  }
  busy = true;
  try {
    const result = await measureSpeed(runner, backendInfo);
    post({ type: "reply", id, value: result });
  } catch (error) {
    post({ type: "reply", id, value: { error: String(error?.message ?? error) } });
  } finally {
    busy = false;
  }
}

async function surprise({ id, language, length }) {
  const { browser } = await python;
  post({ type: "reply", id, value: JSON.parse(browser.surprise_me(language, length)) });
}

async function memory({ id }) {
  let pythonHeap = null;
  try {
    const { pyodide } = await python;
    pythonHeap = pyodide._module?.HEAP8?.byteLength ?? null;
  } catch {
    // Python never started: nothing to measure.
  }
  post({ type: "reply", id, value: { python_heap_bytes: pythonHeap, kv_tokens: runner?.position ?? 0 } });
}
