// transformers.js 4 on its WASM backend, loading the q4 folder the bench built
// (bench/transformers_model.py) from this origin only: no hub, no CDN. It caches
// the files in the browser's Cache API itself, so a second visit loads from there.

import {
  AutoModelForCausalLM,
  AutoTokenizer,
  BaseStreamer,
  env,
} from "../npm/@huggingface/transformers/dist/transformers.min.js";
import { publish, threads } from "./harness.js";

const MODEL_ID = "gemma-3-270m";

let tokenizer, model;

async function load() {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = new URL("../models/transformers/", import.meta.url).pathname;
  env.backends.onnx.wasm.wasmPaths = new URL("../npm/onnxruntime-web/dist/", import.meta.url).href;
  env.backends.onnx.wasm.numThreads = threads();
  tokenizer = await AutoTokenizer.from_pretrained(MODEL_ID);
  model = await AutoModelForCausalLM.from_pretrained(MODEL_ID, { dtype: "q4", device: "wasm" });
  return {
    runtime: `transformers.js ${env.version} (onnxruntime-web ${env.backends.onnx.versions?.web ?? "?"}, wasm)`,
    threads: env.backends.onnx.wasm.numThreads,
  };
}

/** Timestamps each generated token; the first put() is the prompt itself. */
class TokenClock extends BaseStreamer {
  constructor() {
    super();
    this.tokenMs = [];
    this.seenPrompt = false;
  }
  put() {
    if (!this.seenPrompt) {
      this.seenPrompt = true;
      return;
    }
    this.tokenMs.push(performance.now());
  }
  end() {}
}

async function generate({ text, ids, maxNewTokens }) {
  const startMs = performance.now();
  const inputs = tokenizer(text);
  const tokenizeMs = performance.now() - startMs;
  const clock = new TokenClock();
  const output = await model.generate({
    ...inputs,
    max_new_tokens: maxNewTokens,
    min_new_tokens: maxNewTokens,
    do_sample: false,
    streamer: clock,
  });
  const promptIds = Array.from(inputs.input_ids.data, Number);
  const all = Array.from(output.data, Number);
  return {
    promptTokens: promptIds.length,
    tokens: all.slice(promptIds.length),
    text: null,
    startMs,
    tokenMs: clock.tokenMs,
    extra: { tokenizeMs, sameIds: ids ? ids.length === promptIds.length && ids.every((v, i) => v === promptIds[i]) : null },
  };
}

publish(load, generate);
