// The page's model runner: pyshell's Runner protocol (docs/architecture.md) on onnxruntime-web.
//
// Python (pyshell.browser.JsRunner) calls `reset()` and `step(ids)`. A step feeds
// only the new tokens plus the previous step's present.* tensors as
// past_key_values.*, asks for one position of logits, and fetches only
// top_values/top_ids: 64 numbers cross into Python, not a 262,144-wide row. On
// WebGPU the present.* outputs stay in GPU buffers (preferredOutputLocation),
// so the KV cache never leaves the device. On WASM the CPU graph's cache is float16
// (conteur.json `kv_cache`; onnxruntime-web holds its bits in Uint16Arrays): half the
// bytes cross in and out of onnxruntime's heap at every step (docs/export.md).
//
// onnxruntime-web 1.30's WebGPU GroupQueryAttention is wrong for runs of 32 or
// more new tokens unless the sliding window cuts them (measured against the CPU
// kernel and a numpy reference); shorter runs are exact. On WebGPU a long
// prompt is therefore fed in runs of at most WEBGPU_MAX_RUN tokens.
//
// On WASM a long prompt goes in runs of WASM_MAX_RUN tokens too, for memory and
// time: one run over n tokens holds n × n attention scores per head (in float64 on
// the CPU graph), and a wasm heap never shrinks, so a 2,016-token prompt in one run
// left the page 1,781 MB at its peak and took 41.6 s to its first token; in runs of
// 128: 1,438 MB and 26.8 s, with 480-token prompts as fast as before (the bench's
// engine page, one run against runs of 128, 256 and 512; bench/RESULTS.md, "How it
// grows with the story's context", has the figures with runs). The candidates are the
// one pass's, bit for bit (tests/test_onnx_runner.py).
//
// Best-of-n sentences (pyshell/best_of.py) go back to where a sentence started:
// `snapshot()` names the past tensors as they are (a number), `restore(n)` feeds
// them again, `forget(n)` lets them go. A tensor a live snapshot holds is never
// disposed (on WebGPU it is a GPU buffer) until no snapshot and no past holds it.
//
// The CPU graph takes the embedding rows of the tokens its head does not keep as
// inputs (worker/rest-rows.js): every run feeds them, read from their own file.
//
// The CPU graph hands back only each step's own keys and values (new_key_values.*),
// no present.*: the runner keeps the cache itself (worker/kv-rows.js). The next past
// is every row on a global layer and the last sliding_window - 1 on a sliding one (the
// layers whose past is "window_past_sequence" long). WebGPU keeps its presents on the
// GPU instead.

import { KvRows } from "./kv-rows.js";

export const WEBGPU_MAX_RUN = 31;
export const WASM_MAX_RUN = 128;

/**
 * Let the worker's event loop run queued tasks (a "stop" message) between steps.
 * Promise continuations alone are microtasks, which never let a message in;
 * a MessageChannel round trip is a task without setTimeout's clamping.
 * @returns {Promise<void>}
 */
export function yieldToEventLoop() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** A step would go past the model's context length. */
export class ContextFullError extends Error {
  constructor(message) {
    super(message);
    this.name = "ContextFullError";
  }
}

/** pyshell's Runner protocol on an onnxruntime-web session, KV cache kept by ORT. */
export class OrtRunner {
  /**
   * @param {object} ort the onnxruntime-web module the session came from
   * @param {object} session an InferenceSession of the decoder graph
   * @param {import("../shared/model-config.js").ModelConfig} config the KV cache's shape
   * @param {"float32" | "float16"} kvCache the KV cache's element type (the graph's `kvCache`)
   * @param {number} [maxRun] most tokens per session run (Infinity: the whole step at once)
   * @param {(() => Promise<import("./rest-rows.js").RestRows>) | null} [openRestRows] opens
   *   the graph's rest rows (null: a graph without rest_* inputs)
   */
  constructor(ort, session, config, kvCache, maxRun = Infinity, openRestRows = null) {
    this.ort = ort;
    this.kvCache = kvCache;
    this.session = session;
    this.maxRun = maxRun;
    this.openRestRows = openRestRows;
    /** @type {Promise<import("./rest-rows.js").RestRows> | null} once the first run opened them */
    this.restRows = null;
    this.kvHeads = config.kvHeads;
    this.headDim = config.headDim;
    /** Most tokens (prompt + story) the model attends to; read by Python. */
    this.contextLength = config.contextLength;
    this.pastNames = [];
    this.presentNames = [];
    for (let i = 0; i < config.layers; i++) {
      for (const kind of ["key", "value"]) {
        this.pastNames.push(`past_key_values.${i}.${kind}`);
        this.presentNames.push(`present.${i}.${kind}`);
      }
    }
    /** @type {KvRows[] | null} the cache kept here, one per past tensor (null: ORT's presents) */
    this.rows = null;
    this.keptRows = OrtRunner.rowsToKeep(session, config, this.pastNames);
    this.newNames = this.pastNames.map((name) => name.replace("past_key_values.", "new_key_values."));
    this.fetches = ["top_values", "top_ids", ...(this.keptRows ? this.newNames : this.presentNames)];
    this.keepOne = new ort.Tensor("int64", BigInt64Array.from([1n]), []);
    this.past = {};
    this.position = 0;
    /** @type {Map<number, {past: object, position: number}>} live snapshots by number */
    this.snapshots = new Map();
    /** @type {Map<object, number>} tensor → how many live snapshots hold it */
    this.held = new Map();
    this.nextSnapshot = 1;
    /** The candidates of the first step after the last reset (the prompt's), for tests. */
    this.firstCandidates = null;
    this.steps = 0; // Runner.step calls since the last reset
    this.resetSync();
  }

  /**
   * Present names a WebGPU session must keep on the GPU (worker/ort-session.js).
   * @param {import("../shared/model-config.js").ModelConfig} config
   * @returns {string[]}
   */
  static presentNames(config) {
    const names = [];
    for (let i = 0; i < config.layers; i++) names.push(`present.${i}.key`, `present.${i}.value`);
    return names;
  }

  /**
   * Positions each past tensor hands on when the runner keeps the cache itself, or null
   * (the graph has no new_key_values.* outputs, or more than one kv head).
   * @param {object} session
   * @param {import("../shared/model-config.js").ModelConfig} config
   * @param {string[]} pastNames
   * @returns {number[] | null}
   */
  static rowsToKeep(session, config, pastNames) {
    const outputs = new Set(session.outputNames ?? []);
    if (config.kvHeads !== 1 || !pastNames.every((name) => outputs.has(name.replace("past_key_values.", "new_key_values.")))) return null;
    const metadata = new Map((session.inputMetadata ?? []).map((input) => [input.name, input]));
    return pastNames.map((name) => {
      const length = metadata.get(name)?.shape?.[2];
      return typeof length === "string" && length.startsWith("window_") ? config.slidingWindow - 1 : Infinity;
    });
  }

  /** The cache's element type in JavaScript (float16: its raw bits). */
  get ArrayType() {
    return this.kvCache === "float16" ? Uint16Array : Float32Array;
  }

  resetSync() {
    for (const id of [...this.snapshots.keys()]) this.forget(id);
    this.disposePast();
    const empty = new this.ArrayType(0);
    for (const name of this.pastNames) {
      this.past[name] = new this.ort.Tensor(this.kvCache, empty, [1, this.kvHeads, 0, this.headDim]);
    }
    this.rows = this.keptRows?.map((keep) => new KvRows(this.ArrayType, this.headDim, keep)) ?? null;
    this.position = 0;
    this.steps = 0;
    this.firstCandidates = null;
  }

  /** Forget the KV cache (Runner.reset). */
  async reset() {
    this.resetSync();
  }

  /**
   * Feed `ids` after the cached tokens; the next-token candidates, best first (Runner.step).
   * @param {Int32Array | number[]} ids
   * @returns {Promise<{ids: Int32Array, scores: Float32Array}>}
   */
  async step(ids) {
    const n = ids.length;
    if (n === 0) throw new Error("a step needs at least one token id");
    if (this.position + n > this.contextLength) {
      throw new ContextFullError(`${this.position} cached + ${n} new tokens exceed the ${this.contextLength}-token context`);
    }
    let result;
    for (let start = 0; start < n; start += this.maxRun) {
      result = await this.run(ids.slice(start, Math.min(n, start + this.maxRun)));
    }
    if (this.steps === 0) this.firstCandidates = { ids: Array.from(result.ids), scores: Array.from(result.scores) };
    this.steps += 1;
    await yieldToEventLoop();
    return result;
  }

  /** One session run over `ids`; its presents become the next past. */
  async run(ids) {
    const input = new this.ort.Tensor("int64", BigInt64Array.from(ids, (i) => BigInt(i)), [1, ids.length]);
    const feeds = { input_ids: input, num_logits_to_keep: this.keepOne, ...this.past };
    if (this.openRestRows) Object.assign(feeds, await (await this.rest()).feeds(this.ort, ids));
    const out = await this.session.run(feeds, this.fetches);
    this.disposePast();
    if (this.rows) {
      this.rows.forEach((rows, k) => rows.append(out[this.newNames[k]].data));
      this.pastFromRows();
    } else {
      this.pastNames.forEach((name, k) => { this.past[name] = out[this.presentNames[k]]; });
    }
    this.position += ids.length;
    const result = {
      ids: Int32Array.from(out.top_ids.data, (i) => Number(i)),
      scores: Float32Array.from(out.top_values.data),
    };
    out.top_ids.dispose?.();
    out.top_values.dispose?.();
    return result;
  }

  /**
   * The rest rows, opened by the first run rather than with the session: the page is
   * ready without reading their file, and a file that fails to open is tried again
   * by the next run.
   * @returns {Promise<import("./rest-rows.js").RestRows>}
   */
  rest() {
    this.restRows ??= this.openRestRows().catch((error) => {
      this.restRows = null;
      throw error;
    });
    return this.restRows;
  }

  /**
   * Name the KV cache as it is now, to go back to it (best-of-n sentences).
   * @returns {number} the snapshot's number, for `restore` and `forget`
   */
  snapshot() {
    const id = this.nextSnapshot++;
    if (this.rows) {
      // States, not copies: rows are only appended (kv-rows.js).
      this.snapshots.set(id, { rows: this.rows.map((rows) => rows.state()), position: this.position });
      return id;
    }
    const past = { ...this.past };
    for (const tensor of Object.values(past)) this.held.set(tensor, (this.held.get(tensor) ?? 0) + 1);
    this.snapshots.set(id, { past, position: this.position });
    return id;
  }

  /**
   * Go back to a snapshot: the tokens fed since are forgotten.
   * @param {number} id a number `snapshot()` returned and `forget` did not release
   */
  restore(id) {
    const state = this.snapshots.get(id);
    if (!state) throw new Error(`no snapshot ${id}`);
    this.disposePast();
    if (state.rows) {
      // The next append moves to a new buffer, never into one a state shares.
      this.rows = state.rows.map((rows, k) => new KvRows(this.ArrayType, this.headDim, this.keptRows[k], rows));
      this.pastFromRows();
    } else {
      this.past = { ...state.past };
    }
    this.position = state.position;
  }

  /**
   * Let a snapshot go; its tensors are disposed unless the cache or another snapshot holds them.
   * @param {number} id
   */
  forget(id) {
    const state = this.snapshots.get(id);
    if (!state) return;
    this.snapshots.delete(id);
    if (state.rows) return; // buffers the garbage collector takes once nothing holds them
    const current = new Set(Object.values(this.past));
    for (const tensor of Object.values(state.past)) {
      const count = (this.held.get(tensor) ?? 1) - 1;
      if (count > 0) {
        this.held.set(tensor, count);
        continue;
      }
      this.held.delete(tensor);
      if (!current.has(tensor) && tensor.location === "gpu-buffer") tensor.dispose();
    }
  }

  /** Feed the kept rows as the next step's past: views, copied into onnxruntime's heap by the run. */
  pastFromRows() {
    this.rows.forEach((rows, k) => {
      this.past[this.pastNames[k]] = new this.ort.Tensor(this.kvCache, rows.view(), [1, this.kvHeads, rows.count, this.headDim]);
    });
  }

  /** Release GPU buffers held by the cache and no snapshot (CPU tensors are simply dropped). */
  disposePast() {
    for (const tensor of Object.values(this.past)) {
      if (tensor.location === "gpu-buffer" && !this.held.has(tensor)) tensor.dispose();
    }
    this.past = {};
  }

  /** Free the session (a new model or backend replaces it). */
  async release() {
    this.disposePast();
    await this.session.release();
  }
}
