// Load onnxruntime-web and open the decoder session on a backend.
//
// WebGPU uses `ort.webgpu.min.mjs` (onnxruntime's C++ WebGPU backend, which runs
// MatMulNBits, GroupQueryAttention and GatherBlockQuantized on the GPU). The CPU
// path uses `ort.wasm.min.mjs`: the webgpu build's own wasm backend lacks
// GatherBlockQuantized (docs/facts/browser.md). Both builds use threads when the page is
// cross-origin isolated; without isolation onnxruntime silently runs on one.
// How each graph's session runs (graph optimizations, executor) is the exporter's
// word, in conteur.json (shared/model-config.js).

import { SessionError } from "../shared/errors.js";

const ORT_FOLDER = "vendor/ort/";
const ORT_BUILDS = { webgpu: "ort.webgpu.min.mjs", wasm: "ort.wasm.min.mjs" };
const MAX_THREADS = 4; // a 270M model is memory-bound: more threads stop paying off

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
 * Open the decoder session on `graph.backend`. onnxruntime copies the graph and its
 * external data into its own heap; the caller may free `bytes` once this resolves.
 * @param {import("../shared/model-config.js").Graph} graph what runs, and how (`session`)
 * @param {import("./model-files.js").GraphBytes} bytes the graph's downloaded files
 * @param {URL} base the site's root URL
 * @param {string[]} presentNames the KV cache's outputs, kept on the GPU on WebGPU
 * @returns {Promise<{ort: object, session: object}>}
 */
export async function openSession(graph, bytes, base, presentNames) {
  const kind = graph.backend;
  let ort;
  try {
    ort = await loadOrt(kind, base);
  } catch (error) {
    throw new SessionError(kind, `loading onnxruntime-web failed: ${error}`);
  }
  const options = {
    executionProviders: [kind],
    externalData: bytes.externalData,
    logSeverityLevel: 3,
    ...graph.session,
  };
  if (kind === "webgpu") {
    // The KV cache stays on the GPU between steps; only top_values/top_ids come back.
    options.preferredOutputLocation = Object.fromEntries(presentNames.map((n) => [n, "gpu-buffer"]));
  }
  try {
    const session = await ort.InferenceSession.create(bytes.model, options);
    return { ort, session };
  } catch (error) {
    throw new SessionError(kind, String(error?.message ?? error));
  }
}
