// Download the chosen backend's graph, open its session, and on WebGPU check the
// adapter (worker/self-check.js); fall back to WASM when WebGPU fails either way.
//
// Each backend downloads only its own graph's files (conteur.json `graphs`). A
// fallback to WASM after a WebGPU failure downloads the CPU graph's files then.
// Once a session is open its downloaded bytes are freed at once (model-files.js
// releaseGraph), so the weights live once, in onnxruntime's heap.

import { ConteurError } from "../shared/errors.js";
import { msg } from "../shared/i18n.js";
import { chooseBackend, describeBackend, onWasm } from "./backend-choice.js";
import { fetchGraph, releaseGraph } from "./model-files.js";
import { OrtRunner, WEBGPU_MAX_RUN } from "./ort-runner.js";
import { openSession } from "./ort-session.js";
import { CHECK, runSelfCheck } from "./self-check.js";

/**
 * @typedef {{progress: import("./model-files.js").OnProgress,
 *            phase: (key: string, message: string) => void,
 *            backend: (choice: import("./backend-choice.js").BackendChoice) => void,
 *            selfCheck: (key: string, verdict: object) => void}} LoadReport
 * What the page hears while the model loads: download progress, the loading step
 * (an i18n key and its English text), where the model runs (again after each
 * fallback), the self-check's verdict.
 *
 * @typedef {{backend: "webgpu" | "wasm", detail: string, check: string,
 *            ort: object, session: object, filesSeconds: number, sessionSeconds: number,
 *            checkSeconds: number}} LoadedModel
 * detail: where it runs, in English; check: the self-check's outcome (self-check.js
 * CHECK); filesSeconds: from `started` until the first graph's files were in.
 */

/**
 * Load the model where `choices` says it may run.
 * @param {URL} base the site's root URL
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @param {{preference: string, explicit: boolean, ortVersion: string, failedChecks: Set<string>}} choices
 * @param {LoadReport} report
 * @param {number} started performance.now() when loading began
 * @returns {Promise<LoadedModel>}
 */
export async function loadModel(base, config, choices, report, started) {
  let choice = await chooseBackend(choices, config);
  report.backend(choice);
  const download = (kind) => fetchGraph(base, config, config.graphs[kind], report.progress, { chunked: kind === "wasm" });
  const first = await download(choice.kind);
  const filesSeconds = (performance.now() - started) / 1000;

  report.phase("phase.preparing", "Preparing the model…");
  const sessionStarted = performance.now();
  const fallBackToWasm = async (wasmChoice) => {
    choice = wasmChoice;
    report.backend(choice);
    return open(base, config, "wasm", await download("wasm"));
  };
  let opened;
  try {
    opened = await open(base, config, choice.kind, first);
  } catch (error) {
    if (choice.kind !== "webgpu") throw error;
    const detail = error instanceof ConteurError ? error.detail : String(error);
    opened = await fallBackToWasm(onWasm(CHECK.skipped, msg("notice.webgpuFailed", { detail: detail.slice(0, 160) })));
  }
  let checkSeconds = 0;
  if (choice.kind === "webgpu") {
    report.phase("phase.selfCheck", "Checking that the graphics adapter computes correctly…");
    const verdict = await checkAdapter(opened, config);
    checkSeconds = verdict.seconds;
    report.selfCheck(choice.key, verdict);
    if (verdict.status === CHECK.failed) {
      await opened.session.release().catch(() => {});
      opened = await fallBackToWasm(onWasm(CHECK.failed, msg("notice.failedNow", { adapter: choice.gpu.description })));
    } else {
      choice.check = verdict.status;
      report.backend(choice);
    }
  }
  return {
    backend: choice.kind,
    detail: describeBackend(choice),
    check: choice.check,
    ort: opened.ort,
    session: opened.session,
    filesSeconds,
    checkSeconds,
    sessionSeconds: (performance.now() - sessionStarted) / 1000,
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

/** The self-check on a fresh WebGPU session; a kernel that throws fails it too. */
async function checkAdapter(opened, config) {
  const probe = new OrtRunner(opened.ort, opened.session, config, WEBGPU_MAX_RUN);
  try {
    return await runSelfCheck(probe, config.selfCheck);
  } catch (error) {
    return { status: CHECK.failed, problems: [`the check could not run: ${String(error?.message ?? error).slice(0, 200)}`], seconds: 0, steps: 0 };
  }
}
