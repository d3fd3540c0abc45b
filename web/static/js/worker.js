// The module worker: Pyodide, the onnxruntime-web session and the generation loop.
//
// The page (engine.js) only renders; everything slow happens here. Python
// (pyshell.browser) drives the loop and calls the OrtRunner for each model step.
//
// Messages in:  {type: "init", backend}, {type: "generate", request, settings},
//               {type: "stop"}, {type: "surprise", id, language, length},
//               {type: "memory", id}
// Messages out: {type: "phase", message}, {type: "progress", file, loaded, total},
//               {type: "backend", name, detail, notice?}, {type: "python-ready", seconds},
//               {type: "ready", model, timings}, {type: "prompt", text},
//               {type: "token", text, index, tokensPerSecond}, {type: "notice", text},
//               {type: "done", result}, {type: "input-error", field, message},
//               {type: "error", error}, {type: "reply", id, value}

import { findWebGPU, openSession, wasmThreads } from "./backend.js";
import { ConteurError, GenerationError, ModelConfigError, toMessage } from "./errors.js";
import { fetchModelFile, readConfig } from "./model-files.js";
import { bootPython, writeFile } from "./python.js";
import { OrtRunner, WEBGPU_MAX_RUN } from "./runner.js";

const BASE = new URL("../", import.meta.url); // the site root (this file is js/worker.js)
const TOKENIZER_DIR = "/model";
const post = (message) => self.postMessage(message);

let python = null; // Promise of {pyodide, browser, seconds}
let runner = null;
let busy = false;
let stepsAtStop = null; // runner.steps when "stop" arrived: the story must end within one step

self.onmessage = (event) => {
  const message = event.data;
  const handlers = { init, generate, stop, surprise, memory };
  const handler = handlers[message?.type];
  if (!handler) return;
  Promise.resolve(handler(message)).catch((error) => post({ type: "error", error: toMessage(error) }));
};

// --- start-up --------------------------------------------------------------------

async function init({ backend = "auto" }) {
  const started = performance.now();
  post({ type: "phase", message: "Starting Python and fetching the model…" });
  python = bootPython(BASE);
  python.then(({ seconds }) => post({ type: "python-ready", seconds }), () => {});
  const [py, model] = await Promise.all([python, loadModel(backend)]);
  post({ type: "phase", message: "Loading the tokenizer…" });
  writeFile(py.pyodide, `${TOKENIZER_DIR}/tokenizer.model`, model.tokenizer.model);
  if (model.tokenizer.pieces) writeFile(py.pyodide, `${TOKENIZER_DIR}/tokenizer.pieces`, model.tokenizer.pieces);
  const info = JSON.parse(py.browser.init(JSON.stringify(model.config), `${TOKENIZER_DIR}/tokenizer.model`));
  if (info.error) throw new ModelConfigError(info.error.message);
  const maxRun = model.backend === "webgpu" ? WEBGPU_MAX_RUN : Infinity;
  runner = new OrtRunner(model.ort, model.session, model.config, maxRun);
  post({
    type: "ready",
    model: info,
    timings: {
      python_s: py.seconds,
      files_s: model.filesSeconds,
      session_s: model.sessionSeconds,
      total_s: (performance.now() - started) / 1000,
    },
  });
}

/** Where to run: WebGPU when an adapter exists (unless the reader chose the CPU). */
async function chooseBackend(preference) {
  if (preference === "wasm") return { kind: "wasm", notice: "" };
  const gpu = await findWebGPU();
  if (gpu) return { kind: "webgpu", gpu, notice: fallbackNotice(gpu) };
  return {
    kind: "wasm",
    notice: "WebGPU is not available in this browser: running on the CPU (WebAssembly), which is slower.",
  };
}

function fallbackNotice(gpu) {
  return gpu.fallback
    ? "This WebGPU adapter is a software one: choosing \"CPU (WebAssembly)\" under Run on, in Advanced settings, is likely faster."
    : "";
}

function describeBackend(choice) {
  if (choice.kind === "webgpu") {
    return `${choice.gpu.description}${choice.gpu.fallback ? " (software adapter)" : ""}`;
  }
  const threads = wasmThreads();
  const isolation = globalThis.crossOriginIsolated ? "" : ", not cross-origin isolated";
  return `${threads} thread${threads === 1 ? "" : "s"}${isolation}`;
}

async function loadModel(preference) {
  const filesStarted = performance.now();
  const config = await readConfig(BASE);
  let choice = await chooseBackend(preference);
  post({ type: "backend", name: choice.kind, detail: describeBackend(choice), notice: choice.notice });
  const progress = (p) => post({ type: "progress", ...p });
  const names = ["model.onnx", "model.onnx.data", "tokenizer.model"];
  if (config.files["tokenizer.pieces"]) names.push("tokenizer.pieces");
  const [graph, weights, tokenizerModel, pieces] = await Promise.all(
    names.map((name) => fetchModelFile(BASE, config, name, progress)),
  );
  const filesSeconds = (performance.now() - filesStarted) / 1000;

  post({ type: "phase", message: "Preparing the model…" });
  const sessionStarted = performance.now();
  const model = { graph, weights, presentNames: OrtRunner.presentNames(config) };
  let opened;
  try {
    opened = await openSession(choice.kind, BASE, model);
  } catch (error) {
    if (choice.kind !== "webgpu") throw error;
    const detail = error instanceof ConteurError ? error.detail : String(error);
    choice = { kind: "wasm", notice: `WebGPU could not run the model (${detail.slice(0, 160)}): running on the CPU (WebAssembly) instead.` };
    post({ type: "backend", name: "wasm", detail: describeBackend(choice), notice: choice.notice });
    opened = await openSession("wasm", BASE, model);
  }
  return {
    config,
    backend: choice.kind,
    ort: opened.ort,
    session: opened.session,
    tokenizer: { model: tokenizerModel, pieces },
    filesSeconds,
    sessionSeconds: (performance.now() - sessionStarted) / 1000,
  };
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
    notice: (text) => post({ type: "notice", text }),
  };
  try {
    const json = await browser.generate_story(runner, JSON.stringify(request), JSON.stringify(settings), events);
    const result = JSON.parse(json);
    if (result.error?.kind === "input") {
      post({ type: "input-error", field: result.error.field, message: result.error.message });
    } else if (result.error) {
      post({ type: "error", error: toMessage(new GenerationError(result.error.message), false) });
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
