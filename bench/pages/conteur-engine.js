// Conteur's exported model on onnxruntime-web's WASM backend, driven the way the
// page's runner does it (web/static/js/worker/ort-runner.js): one session, the KV
// cache fed back as past_key_values, a long prompt in runs, one position of logits,
// only top_ids fetched.
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
import { WASM_MAX_RUN } from "../../js/worker/ort-runner.js"; // prompts in runs, as the page
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

function emptyPast() {
  const past = {};
  const { layers, kvHeads: heads, headDim: dim } = config;
  const kvCache = config.graphs[GRAPH].kvCache;
  for (let i = 0; i < layers; i++) {
    for (const kind of ["key", "value"]) {
      const empty = kvCache === "float16" ? new Uint16Array(0) : new Float32Array(0);
      past[`past_key_values.${i}.${kind}`] = new ort.Tensor(kvCache, empty, [1, heads, 0, dim]);
    }
  }
  return past;
}

async function generate({ ids, maxNewTokens }) {
  const keep = new ort.Tensor("int64", BigInt64Array.from([1n]), []);
  const presentNames = [];
  for (let i = 0; i < config.layers; i++) presentNames.push(`present.${i}.key`, `present.${i}.value`);
  const fetches = ["top_ids", ...presentNames];
  let past = emptyPast();
  let feed = ids;
  const tokens = [];
  const tokenMs = [];
  const startMs = performance.now();
  while (tokens.length < maxNewTokens) {
    let out;
    for (let start = 0; start < feed.length; start += MAX_RUN) {
      const run = feed.slice(start, start + MAX_RUN);
      const input = new ort.Tensor("int64", BigInt64Array.from(run, (i) => BigInt(i)), [1, run.length]);
      const restFeeds = rest ? await rest.feeds(ort, run) : {};
      out = await session.run({ input_ids: input, num_logits_to_keep: keep, ...restFeeds, ...past }, fetches);
      past = {};
      presentNames.forEach((name) => { past[name.replace("present", "past_key_values")] = out[name]; });
    }
    const next = Number(out.top_ids.data[0]); // greedy: the best candidate
    tokenMs.push(performance.now());
    tokens.push(next);
    feed = [next];
  }
  if (PROFILE) session.endProfiling(); // prints the trace, one JSON event per console line
  return { promptTokens: ids.length, tokens, text: null, startMs, tokenMs, extra: {} };
}

publish(load, generate);
