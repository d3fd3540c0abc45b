// Choose where the model runs and open the onnxruntime-web session there.
//
// WebGPU uses `ort.webgpu.min.mjs` (onnxruntime's C++ WebGPU backend, which runs
// MatMulNBits, GroupQueryAttention and GatherBlockQuantized on the GPU). The CPU
// path uses `ort.wasm.min.mjs`: the webgpu build's own wasm backend lacks
// GatherBlockQuantized (docs/facts/browser.md). Both builds use threads when the page is
// cross-origin isolated; without isolation onnxruntime silently runs on one.

import { SessionError } from "../shared/errors.js";

const ORT_FOLDER = "vendor/ort/";
const ORT_BUILDS = { webgpu: "ort.webgpu.min.mjs", wasm: "ort.wasm.min.mjs" };
const MAX_THREADS = 4; // a 270M model is memory-bound: more threads stop paying off

/**
 * The first WebGPU adapter, described for the reader, or null when there is none.
 * @returns {Promise<{description: string, fallback: boolean} | null>}
 */
export async function findWebGPU() {
  if (!globalThis.navigator?.gpu) return null;
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter();
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const parts = [info.description, info.vendor, info.architecture, info.device].filter(Boolean);
  const description = parts.length ? [...new Set(parts)].join(" ") : "unnamed adapter";
  return { description, fallback };
}

/** Threads onnxruntime may use: several only under cross-origin isolation. */
export function wasmThreads() {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS));
}

/**
 * Import one onnxruntime-web build from our own origin and configure it.
 * @param {"webgpu" | "wasm"} kind
 * @param {URL} base the site's root URL
 */
export async function loadOrt(kind, base) {
  const folder = new URL(ORT_FOLDER, base).href;
  const ort = await import(folder + ORT_BUILDS[kind]);
  ort.env.wasm.wasmPaths = folder; // never a CDN: the .mjs/.wasm pair sits beside the build
  ort.env.wasm.numThreads = wasmThreads();
  ort.env.wasm.proxy = false; // we already are a worker
  ort.env.logLevel = "error";
  return ort;
}

/**
 * How the CPU graph's session runs (bench/pages/conteur-engine.js uses the same).
 * - No graph optimizations: the graph is written as it should run, and fusions would
 *   change its bits (export/exact_ops.py). Measured in Node: the wasm heap 581 → 412 MB
 *   after session creation, at the same decode speed.
 * - The "parallel" executor, on one inter-op thread: the sequential executor plans
 *   memory reuse for the graph's ~2,200 nodes at session creation, which took 2.9 s
 *   in Node against 0.8 s this way, for 3-7 % slower steps.
 */
export const CPU_GRAPH_OPTIONS = {
  graphOptimizationLevel: "disabled",
  executionMode: "parallel",
  extra: { session: { inter_op_num_threads: "1" } },
};

/**
 * Open the decoder session on `kind`. onnxruntime copies the graph and its external
 * data into its own heap and lets go of `model`'s arrays once the session exists.
 * @param {"webgpu" | "wasm"} kind
 * @param {URL} base the site's root URL
 * @param {{graph: Uint8Array, externalData: {path: string, data: Uint8Array}[], presentNames: string[]}} model
 *   externalData: one entry per data file, `path` as the graph references it
 * @returns {Promise<{ort: object, session: object}>}
 */
export async function openSession(kind, base, model) {
  let ort;
  try {
    ort = await loadOrt(kind, base);
  } catch (error) {
    throw new SessionError(kind, `loading onnxruntime-web failed: ${error}`);
  }
  const options = {
    executionProviders: [kind],
    graphOptimizationLevel: "all",
    externalData: model.externalData,
    logSeverityLevel: 3,
    ...(kind === "wasm" ? CPU_GRAPH_OPTIONS : {}),
  };
  if (kind === "webgpu") {
    // The KV cache stays on the GPU between steps; only top_values/top_ids come back.
    options.preferredOutputLocation = Object.fromEntries(model.presentNames.map((n) => [n, "gpu-buffer"]));
  }
  try {
    const session = await ort.InferenceSession.create(model.graph, options);
    return { ort, session };
  } catch (error) {
    throw new SessionError(kind, String(error?.message ?? error));
  }
}
