// Where the model runs: WebGPU or WASM, and how to tell the reader why.
//
// Automatic takes a hardware WebGPU adapter; a software (fallback) adapter emulates
// the GPU on the CPU and is slower than WASM, so only a WebGPU choice takes it. An
// adapter that failed the self-check before goes straight to WASM, unless the URL
// asks for WebGPU (`explicit`): then it is checked again. So does an adapter whose
// check began on an earlier visit and never ended (the GPU hung in it, or the tab was
// killed): trying it again on every start could hang every start.

import { msg, translate } from "../shared/i18n.js";
import { wasmThreads } from "./ort-session.js";
import { CHECK, verdictKey } from "./self-check.js";
import { findWebGPU } from "./webgpu-probe.js";

/**
 * @typedef {{kind: "webgpu" | "wasm", check: string, notice: import("../shared/i18n.js").Message | null,
 *            gpu?: {description: string, fallback: boolean}, key?: string}} BackendChoice
 * check: the self-check's state ("" until it has run on WebGPU); notice: why the
 * backend is not the one expected, if it is not; gpu, key: the WebGPU adapter and
 * its verdict key
 */

/**
 * Choose the backend.
 * @param {{preference: "auto" | "webgpu" | "wasm", explicit: boolean, ortVersion: string,
 *          failedChecks: Set<string>, pendingChecks: Set<string>}} choices
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @returns {Promise<BackendChoice>}
 */
export async function chooseBackend({ preference, explicit, ortVersion, failedChecks, pendingChecks }, config) {
  if (preference === "wasm") return onWasm(CHECK.skipped, null);
  const gpu = await findWebGPU();
  if (!gpu) return onWasm(CHECK.skipped, msg("notice.noWebgpu"));
  const key = verdictKey(gpu.description, ortVersion, config);
  if (preference === "auto" && gpu.fallback) {
    return onWasm(CHECK.skipped, msg("notice.softwareOnly", { adapter: gpu.description }));
  }
  if (!explicit && failedChecks.has(key)) {
    return onWasm(CHECK.failed, msg("notice.failedBefore", { adapter: gpu.description }));
  }
  if (!explicit && pendingChecks.has(key)) {
    return onWasm(CHECK.failed, msg("notice.checkUnfinished", { adapter: gpu.description }));
  }
  const notice = gpu.fallback ? msg("notice.softwareAdapter") : null;
  return { kind: "webgpu", gpu, key, check: "", notice };
}

/**
 * WASM, with the self-check's state and why WebGPU does not run.
 * @param {string} check @param {import("../shared/i18n.js").Message | null} notice
 * @returns {BackendChoice}
 */
export function onWasm(check, notice) {
  return { kind: "wasm", check, notice };
}

/**
 * Where the model runs, as a message (shared/locales/) for the interface language.
 * @param {BackendChoice} choice
 * @returns {import("../shared/i18n.js").Message | string} the adapter's own name as is
 */
export function describeBackendMessage(choice) {
  if (choice.kind === "webgpu") {
    return choice.gpu.fallback ? msg("backend.software", { adapter: choice.gpu.description }) : choice.gpu.description;
  }
  const threads = msg("backend.threads", { count: wasmThreads() });
  return globalThis.crossOriginIsolated ? threads : msg("backend.notIsolated", { threads });
}

/**
 * The same description in English: the test hook, the speed check and the bench read it.
 * @param {BackendChoice} choice
 * @returns {string}
 */
export function describeBackend(choice) {
  const message = describeBackendMessage(choice);
  return typeof message === "string" ? message : translate("en", message.key, message.params);
}
