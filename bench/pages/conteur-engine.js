// Conteur's exported model on onnxruntime-web's WASM backend, driven by the page's own
// runner (web/static/js/worker/ort-runner.js): one session, the KV cache kept as the
// page keeps it, a long prompt in runs, one position of logits, only the candidates
// and the cache's new rows fetched.
// It reads conteur.json through the page's own reader (js/shared/model-config.js)
// and loads the graph the page runs on WASM (`graphs.wasm`: model-cpu.onnx and its
// data file), with the session options the export gives that graph, and feeds it
// the rows of its rest file (`graphs.wasm.rest`) as the page does (js/worker/rest-rows.js).
// It measures the engine without Pyodide; the real page adds Python on top.
//
// Query parameters, for the profile and the what-if runs:
//   model=variants/NAME  another model folder under /bench/models/ (default: the export)
//   graph=webgpu         the WebGPU graph (and its session options) instead, still on WASM
//   ort=next             the newer onnxruntime-web that transformers.js ships
//   threads=N            wasm threads (default: as the page chooses)
//   run=N                most prompt tokens per session run (default: the page's, WASM_MAX_RUN)
//   profile              onnxruntime's profiler on; the trace goes to the console

import { modelConfig } from "../../js/shared/model-config.js"; // the site, served at the root
import { OrtRunner, WASM_MAX_RUN } from "../../js/worker/ort-runner.js"; // prompts in runs, as the page
import { RestRows } from "../../js/worker/rest-rows.js";
import { cachedBytes, publish, threads } from "./harness.js";

const params = new URLSearchParams(location.search);
const ORT = new URL(params.get("ort") === "next" ? "../npm/onnxruntime-web/dist/" : "../ort/", import.meta.url).href;
const MODEL = new URL(`../models/${params.get("model") ?? "conteur"}/`, import.meta.url).href;
const PROFILE = params.has("profile");
const GRAPH = params.get("graph") === "webgpu" ? "webgpu" : "wasm";
const CACHE = "conteur-bench-model";
const MAX_RUN = Number(params.get("run")) || WASM_MAX_RUN; // prompt tokens per session run

let ort, session, config;
let rest = null; // the graph's rest rows (RestRows), when it has some

async function load() {
  ort = await import(ORT + "ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = ORT;
  ort.env.wasm.numThreads = Number(params.get("threads")) || threads();
  ort.env.logLevel = "error";
  config = modelConfig(await (await fetch(MODEL + "conteur.json")).text());
  const graph = config.graphs[GRAPH];
  const [model, ...data] = await Promise.all(
    [graph.model, ...graph.data].map((name) => cachedBytes(MODEL + name, CACHE)),
  );
  if (graph.rest) rest = await RestRows.open(await cachedBlob(MODEL + graph.rest.file), graph.rest);
  session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    ...graph.session, // as the page opens it
    externalData: graph.data.map((path, i) => ({ path, data: data[i] })),
    logSeverityLevel: 3,
    enableProfiling: PROFILE,
  });
  return {
    runtime: `onnxruntime-web ${ort.env.versions?.web ?? "?"} (wasm)`,
    threads: ort.env.wasm.numThreads,
    graph: graph.model,
    head_tokens: graph.head.kept, // the CPU graph keeps a shortlist
  };
}

/**
 * The rest file as a Blob from the bench's cache, which the browser keeps on disk:
 * the page reads it the same way from its service worker's cache, a run's rows at a time.
 */
async function cachedBlob(url) {
  const cache = await caches.open(CACHE);
  if (!(await cache.match(url))) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    await cache.put(url, response);
  }
  return (await cache.match(url)).blob();
}

async function generate({ ids, maxNewTokens }) {
  // The page's own runner: the same runs, cache and rest rows, without Python.
  const openRest = rest ? async () => rest : null;
  const runner = new OrtRunner(ort, session, config, config.graphs[GRAPH].kvCache, MAX_RUN, openRest);
  const tokens = [];
  const tokenMs = [];
  const startMs = performance.now();
  let candidates = await runner.step(Int32Array.from(ids));
  while (tokens.length < maxNewTokens) {
    const next = candidates.ids[0]; // greedy: the best candidate
    tokenMs.push(performance.now());
    tokens.push(next);
    if (tokens.length < maxNewTokens) candidates = await runner.step(Int32Array.of(next));
  }
  if (PROFILE) session.endProfiling(); // prints the trace, one JSON event per console line
  return { promptTokens: ids.length, tokens, text: null, startMs, tokenMs, extra: {} };
}

publish(load, generate);
