// Download the chosen backend's graph, open its session, and on WebGPU check the
// adapter (worker/self-check.js); fall back to WASM when WebGPU fails either way.
//
// Each backend downloads only its own graph's files (conteur.json `graphs`). A
// fallback to WASM after a WebGPU failure downloads the CPU graph's files then.
// Once a session is open its downloaded bytes are freed at once (model-files.js
// releaseGraph), so the weights live once, in onnxruntime's heap. The CPU graph's
// rest rows are not among them: they stay in the service worker's store.
//
// WebGPU never ends in a fatal error of its own: a download that cannot allocate the
// WebGPU weights, a session that cannot open, a self-check that fails or does not end
// in time all move the model to WASM. On WASM an allocation that fails is an
// OutOfMemoryError, which says how much memory Conteur needs (shared/memory-needs.js).
// A WebGPU session comes with a GpuGuard (worker/gpu-loss.js): after a device loss
// mid-story the worker calls `switchToWasm`.

import { ConteurError, OutOfMemoryError } from "../shared/errors.js";
import { msg } from "../shared/i18n.js";
import { isAllocationFailure } from "../shared/memory-needs.js";
import { chooseBackend, describeBackend, onWasm } from "./backend-choice.js";
import { GpuGuard } from "./gpu-loss.js";
import { fetchGraph, releaseGraph } from "./model-files.js";
import { OrtRunner, WEBGPU_MAX_RUN } from "./ort-runner.js";
import { keepRestFile } from "./rest-rows.js";
import { openSession } from "./ort-session.js";
import { CHECK, runSelfCheck } from "./self-check.js";
import { withinTime } from "./time-limit.js";

/**
 * Most time the WebGPU self-check may take (ms) before the adapter counts as failed.
 * A real GPU does its prefill and two steps in about a second (shaders compiled on
 * first use included); SwiftShader, a software adapter, took 6 s with the tiny test
 * model and 95 s with Gemma 3 270M on two busy cores (docs/architecture.md), and
 * about 45 s per decode step with Gemma when other work loaded those cores 3 times
 * over: a software adapter, only ever chosen by the reader, gets as long as a step.
 */
export const SELF_CHECK_LIMIT_MS = { hardware: 60_000, software: 600_000 };

/**
 * @typedef {{progress: import("./model-files.js").OnProgress,
 *            phase: (key: string, message: string) => void,
 *            backend: (choice: import("./backend-choice.js").BackendChoice) => void,
 *            selfCheck: (key: string, verdict: object) => void}} LoadReport
 * What the page hears while the model loads: download progress, the loading step
 * (an i18n key and its English text), where the model runs (again after each
 * fallback), the self-check's verdict (first "running", then its outcome).
 *
 * @typedef {{backend: "webgpu" | "wasm", detail: string, check: string,
 *            ort: object, session: object, gpu: GpuGuard | null, filesSeconds: number,
 *            sessionSeconds: number, checkSeconds: number}} LoadedModel
 * detail: where it runs, in English; check: the self-check's outcome (self-check.js
 * CHECK); gpu: the WebGPU device's guard (null on WASM); filesSeconds: from `started`
 * until the first graph's files were in.
 */

/**
 * Load the model where `choices` says it may run.
 * @param {URL} base the site's root URL
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @param {{preference: string, explicit: boolean, ortVersion: string, failedChecks: Set<string>,
 *          pendingChecks: Set<string>}} choices
 * @param {LoadReport} report
 * @param {number} started performance.now() when loading began
 * @returns {Promise<LoadedModel>}
 */
export async function loadModel(base, config, choices, report, started) {
  const choice = await chooseBackend(choices, config);
  report.backend(choice);
  if (choice.kind === "wasm") {
    const bytes = await downloadWasm(base, config, report);
    const filesSeconds = (performance.now() - started) / 1000;
    return { ...(await openWasm(base, config, report, bytes, choice)), filesSeconds };
  }
  let bytes;
  try {
    bytes = await download(base, config, "webgpu", report);
  } catch (error) {
    if (!isAllocationFailure(error)) throw error;
    const filesSeconds = (performance.now() - started) / 1000;
    const notice = msg("notice.webgpuMemory", { detail: errorDetail(error).slice(0, 160) });
    return { ...(await switchToWasm(base, config, report, notice)), filesSeconds };
  }
  const filesSeconds = (performance.now() - started) / 1000;
  return { ...(await openWebgpu(base, config, report, bytes, choice)), filesSeconds };
}

/**
 * Download and open the WASM graph: the fallback after any WebGPU failure, at start-up
 * or mid-story (worker/main.js, after a GpuGuard failure).
 * @param {URL} base @param {import("../shared/model-config.js").ModelConfig} config
 * @param {LoadReport} report
 * @param {import("../shared/i18n.js").Message} notice why WebGPU is left, for the reader
 * @param {string} [check] the self-check's state to show (skipped unless it failed)
 * @returns {Promise<Omit<LoadedModel, "filesSeconds">>}
 */
export async function switchToWasm(base, config, report, notice, check = CHECK.skipped) {
  const choice = onWasm(check, notice);
  report.backend(choice);
  return openWasm(base, config, report, await downloadWasm(base, config, report), choice);
}

/**
 * A graph's files; the CPU graph's rest rows pass through beside them, for the service
 * worker to store (worker/rest-rows.js): a story reads them from there, not from here.
 */
async function download(base, config, kind, report) {
  const graph = config.graphs[kind];
  const files = fetchGraph(base, config, graph, report.progress, { chunked: kind === "wasm" });
  const kept = graph.rest ? keepRestFile(base, config, graph.rest, report.progress) : null;
  const [bytes, rest] = await Promise.allSettled([files, kept]);
  if (bytes.status === "rejected") throw bytes.reason;
  if (rest.status === "rejected") {
    releaseGraph(bytes.value);
    throw rest.reason;
  }
  return bytes.value;
}

/** The WASM graph's files; an allocation that fails there is the reader's to solve. */
/** `work()`'s result; a failed allocation becomes an OutOfMemoryError (the device is too small). */
async function reportingOutOfMemory(work) {
  try {
    return await work();
  } catch (error) {
    throw isAllocationFailure(error) ? new OutOfMemoryError(errorDetail(error)) : error;
  }
}

function downloadWasm(base, config, report) {
  return reportingOutOfMemory(() => download(base, config, "wasm", report));
}

async function openWasm(base, config, report, bytes, choice) {
  report.phase("phase.preparing", "Preparing the model…");
  const sessionStarted = performance.now();
  const opened = await reportingOutOfMemory(() => open(base, config, "wasm", bytes));
  return loaded(choice, opened, null, (performance.now() - sessionStarted) / 1000, 0);
}

/** Open the WebGPU session and check the adapter; WASM when either fails. */
async function openWebgpu(base, config, report, bytes, choice) {
  report.phase("phase.preparing", "Preparing the model…");
  const sessionStarted = performance.now();
  let opened;
  try {
    opened = await open(base, config, "webgpu", bytes);
  } catch (error) {
    const notice = msg("notice.webgpuFailed", { detail: errorDetail(error).slice(0, 160) });
    return switchToWasm(base, config, report, notice);
  }
  const gpu = new GpuGuard(opened.ort, opened.session, choice.gpu);
  report.phase("phase.selfCheck", "Checking that the graphics adapter computes correctly…");
  report.selfCheck(choice.key, { status: "running", problems: [], seconds: 0, steps: 0 });
  const verdict = await checkAdapter(opened, config, choice.gpu);
  report.selfCheck(choice.key, verdict);
  if (verdict.status === CHECK.failed) {
    releaseSoon(opened.session); // a hung GPU may never answer the release either
    const notice = msg(verdict.late ? "notice.checkTooSlow" : "notice.failedNow", { adapter: choice.gpu.description });
    return switchToWasm(base, config, report, notice, CHECK.failed);
  }
  choice.check = verdict.status;
  report.backend(choice);
  return loaded(choice, opened, gpu, (performance.now() - sessionStarted) / 1000, verdict.seconds);
}

function loaded(choice, opened, gpu, sessionSeconds, checkSeconds) {
  return {
    backend: choice.kind,
    detail: describeBackend(choice),
    check: choice.check,
    ort: opened.ort,
    session: opened.session,
    gpu,
    sessionSeconds,
    checkSeconds,
  };
}

/** Open `kind`'s graph from its downloaded bytes, which are freed whatever happens. */
async function open(base, config, kind, bytes) {
  try {
    return await openSession(config.graphs[kind], bytes, base, OrtRunner.presentNames(config));
  } finally {
    releaseGraph(bytes);
  }
}

/**
 * The self-check on a fresh WebGPU session, within SELF_CHECK_LIMIT_MS; a kernel that
 * throws, or a check that does not end in time (`late`), fails it too.
 */
async function checkAdapter(opened, config, gpu) {
  const probe = new OrtRunner(opened.ort, opened.session, config, config.graphs.webgpu.kvCache, WEBGPU_MAX_RUN);
  const limit = gpu.fallback ? SELF_CHECK_LIMIT_MS.software : SELF_CHECK_LIMIT_MS.hardware;
  const started = performance.now();
  try {
    return await withinTime(runSelfCheck(probe, config.selfCheck), limit, "the WebGPU self-check");
  } catch (error) {
    const late = error?.name === "TimeLimitError";
    const seconds = (performance.now() - started) / 1000;
    return { status: CHECK.failed, problems: [`the check could not run: ${errorDetail(error).slice(0, 200)}`], seconds, steps: 0, late };
  }
}

/** Release a session without waiting for it. */
export function releaseSoon(session) {
  Promise.resolve().then(() => session.release()).catch(() => {});
}

/** An error's own words: a ConteurError's detail, else its message. */
function errorDetail(error) {
  if (error instanceof ConteurError) return error.detail || error.message;
  return String(error?.message ?? error);
}
