// wllama: llama.cpp compiled to wasm, on the same GGUF, on the CPU (n_gpu_layers 0).
// wllama keeps the downloaded model in its own cache (OPFS), so a second visit
// loads from there.

import { Wllama } from "../npm/@wllama/wllama/esm/index.js";
import { publish, threads } from "./harness.js";

const WASM = new URL("../npm/@wllama/wllama/esm/wasm/wllama.wasm", import.meta.url).href;
const GGUF = new URL("../models/gguf/gemma-3-270m-q4_k_m.gguf", import.meta.url).href;
const quiet = { debug() {}, log() {}, warn: console.warn, error: console.error };

let wllama;

async function load() {
  wllama = new Wllama({ default: WASM }, { suppressNativeLog: true, logger: quiet });
  await wllama.loadModelFromUrl(GGUF, {
    n_ctx: 2048,
    n_threads: threads(),
    n_gpu_layers: 0,
    useCache: true,
  });
  return {
    runtime: `wllama (llama.cpp ${Wllama.getLibllamaVersion?.() ?? "?"})`,
    threads: wllama.getNumThreads(),
    multithread: wllama.isMultithread(),
  };
}

async function generate({ text, maxNewTokens }) {
  const tokenMs = [];
  const pieces = [];
  let timings = null;
  let usage = null;
  const startMs = performance.now();
  await wllama.createCompletion({
    prompt: text,
    max_tokens: maxNewTokens,
    temperature: 0,
    ignore_eos: true,
    cache_prompt: false,
    stream: true,
    onData: (chunk) => {
      // One chunk per generated token, then a final one with the timings.
      const choice = chunk.choices?.[0];
      if (choice && choice.finish_reason == null) {
        tokenMs.push(performance.now());
        pieces.push(choice.text ?? "");
      }
      if (chunk.timings) timings = chunk.timings;
      if (chunk.usage) usage = chunk.usage;
    },
  });
  return {
    promptTokens: timings?.prompt_n ?? usage?.prompt_tokens ?? null,
    tokens: null,
    text: pieces.join(""),
    startMs,
    tokenMs,
    extra: { timings, usage },
  };
}

publish(load, generate);
