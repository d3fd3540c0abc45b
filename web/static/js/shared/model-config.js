// conteur.json, read and checked once: the only JavaScript that knows its fields.
//
// The exporter writes conteur.json beside the model's files (docs/architecture.md).
// `modelConfig(text)` checks every field the page and the bench use and returns a
// ModelConfig; everything else reads that object, never the JSON. The worker hands
// the file's text to Python unchanged (pyshell.browser.init reads its own fields).
//
// Each backend runs its own graph (`graphs`): WebGPU `model.onnx`, WASM
// `model-cpu.onnx` (int8 layers for the CPU kernels, an output head cut to a
// shortlist whose logits are -inf elsewhere), each with its own data files, its
// tensor-boundary chunks, its head and the session options it must run with. A
// folder without them was written by an older exporter, which `is_current`
// re-exports: here it is a ModelConfigError that says to re-export.
//
// The CPU graph's `rest`, when its head does not keep every token: the input
// embedding of the other tokens, in a file of its own that the page reads as
// prompts need it (worker/rest-rows.js).

import { ModelConfigError } from "./errors.js";

/** Backends, as conteur.json `graphs` names them. */
export const BACKENDS = ["webgpu", "wasm"];

/** The tokenizer's files in the model folder: the page loads the `.pieces` table alone (pyshell.browser.init). */
const TOKENIZER = { model: "tokenizer.model", pieces: "tokenizer.pieces" };
const GRAPH_OPTIMIZATION = ["all", "disabled"];
const EXECUTION_MODE = ["sequential", "parallel"];
/** The KV cache's element types a graph may take (onnxruntime-web tensor types). */
const KV_CACHE = ["float32", "float16"];

/**
 * @typedef {{kept: number, of: number, rule: string}} Head
 * kept: tokens the output head can write; of: the vocabulary; rule: why ("full", or
 * the exporter's description, e.g. "story shortlist: …").
 *
 * @typedef {{graphOptimizationLevel: "all" | "disabled", executionMode: "sequential" | "parallel",
 *            extra?: {session: {inter_op_num_threads: string}}}} OrtSessionOptions
 * onnxruntime-web InferenceSession options, as conteur.json's `session` says.
 *
 * @typedef {{file: string, rows: number, width: number, block: number, recordBytes: number,
 *            idsOffset: number, recordsOffset: number}} Rest
 * The rest rows' file (worker/rest-rows.js): rows token ids at idsOffset, then a
 * record of recordBytes per id at recordsOffset; width: the embedding's width,
 * block: the int4 quantization's block.
 *
 * @typedef {{backend: "webgpu" | "wasm", model: string, data: string[],
 *            dataChunks: Object<string, number[]>, head: Head, session: OrtSessionOptions,
 *            kvCache: "float32" | "float16", rest: Rest | null}} Graph
 * model: the graph file; data: its external-data files, named as the graph references
 * them; dataChunks: per data file, the byte offsets (first 0, ascending) where the
 * page may cut it, each a tensor boundary; kvCache: the element type of its
 * past_key_values and present tensors; rest: the rows its three rest_* inputs
 * take, null for a graph without them.
 *
 * @typedef {{promptIds: number[],
 *            steps: {feed: number[], topIds: number[], topLogits: number[]}[],
 *            atol: number, rtol: number}} SelfCheck
 * The exporter's numbers for the WebGPU self-check (worker/self-check.js).
 *
 * @typedef {{name: string, exportVersion: string, label: string,
 *            files: Object<string, {bytes: number, sha256: string}>,
 *            graphs: {webgpu: Graph, wasm: Graph},
 *            tokenizer: {model: string, pieces: string},
 *            tokens: Object<string, number>,
 *            layers: number, kvHeads: number, headDim: number,
 *            contextLength: number, slidingWindow: number, vocabulary: number,
 *            selfCheck: SelfCheck, text: string}} ModelConfig
 * label: "name export_version", how the speed check and verdicts name the model;
 * files: every file of the folder but conteur.json (size in bytes, lowercase sha256);
 * tokens: special token ids (bos, eos, …); layers, kvHeads, headDim: the KV cache's
 * shape; contextLength: the most tokens the model attends to; slidingWindow: the positions a
 * sliding layer attends to (the token itself and the window - 1 before it); text: the JSON itself.
 */

/**
 * Read conteur.json's text into a ModelConfig, or throw a ModelConfigError that says
 * which field is wrong.
 * @param {string} text
 * @returns {ModelConfig}
 */
export function modelConfig(text) {
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(`it is not valid JSON (${error.message})`);
  }
  if (raw?.format !== "conteur-model") throw new ModelConfigError("it is not a Conteur model description");
  if (raw.graphs === undefined) throw new ModelConfigError('it has no "graphs": an older exporter wrote it');
  const files = readFiles(need(raw, "files", "object"));
  const architecture = need(raw, "architecture", "object");
  const graph = need(raw, "graph", "object", "graph");
  const graphs = need(raw, "graphs", "object");
  const tokens = need(raw, "tokens", "object");
  for (const name of ["bos", "eos"]) need(tokens, name, "count", `tokens.${name}`);
  const config = {
    name: need(raw, "name", "string"),
    exportVersion: need(raw, "export_version", "string"),
    files,
    graphs: Object.fromEntries(BACKENDS.map((kind) => [kind, readGraph(graphs, kind, files)])),
    tokenizer: { ...TOKENIZER },
    tokens: Object.fromEntries(Object.entries(tokens).filter(([, id]) => Number.isInteger(id))),
    layers: need(graph, "num_layers", "count", "graph.num_layers"),
    kvHeads: need(graph, "kv_heads", "count", "graph.kv_heads"),
    headDim: need(graph, "head_dim", "count", "graph.head_dim"),
    contextLength: need(architecture, "context_length", "count", "architecture.context_length"),
    slidingWindow: need(architecture, "sliding_window", "count", "architecture.sliding_window"),
    vocabulary: need(architecture, "vocab_size", "count", "architecture.vocab_size"),
    selfCheck: readSelfCheck(need(raw, "self_check", "object")),
    text,
  };
  config.label = `${config.name} ${config.exportVersion}`;
  for (const name of Object.values(TOKENIZER)) listed(files, name);
  return config;
}

/**
 * onnxruntime-web's options for a graph's conteur.json `session` entry: the exporter
 * says how its graph must run (the CPU graph without graph optimizations, which
 * would change its bits, on the parallel executor with one inter-op thread, which
 * opens it faster; docs/export.md).
 * @param {{graph_optimization: string, execution_mode: string, inter_op_threads: number | null}} session
 * @param {string} [where] the entry's place in conteur.json, for the error message
 * @returns {OrtSessionOptions}
 */
export function ortSessionOptions(session, where = "session") {
  const optimization = oneOf(session, "graph_optimization", GRAPH_OPTIMIZATION, where);
  const mode = oneOf(session, "execution_mode", EXECUTION_MODE, where);
  const threads = session.inter_op_threads;
  if (threads !== null && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ModelConfigError(`"${where}.inter_op_threads" is ${JSON.stringify(threads)}: a thread count or null`);
  }
  const options = { graphOptimizationLevel: optimization, executionMode: mode };
  if (threads !== null) options.extra = { session: { inter_op_num_threads: String(threads) } };
  return options;
}

/**
 * Every file a graph needs, the graph itself first (its rest rows last).
 * @param {Graph} graph
 * @returns {string[]}
 */
export function graphFiles(graph) {
  return [graph.model, ...graph.data, ...(graph.rest ? [graph.rest.file] : [])];
}

/**
 * The head's rule in a few words: the part before the exporter's explanation.
 * @param {Head} head
 * @returns {string} "full" for a head that keeps every token
 */
export function headRuleName(head) {
  return head.kept >= head.of ? "full" : head.rule.split(":")[0].trim();
}

// --- checks ------------------------------------------------------------------------

const KINDS = {
  object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  string: (v) => typeof v === "string" && v.length > 0,
  count: (v) => Number.isInteger(v) && v >= 0,
  number: (v) => typeof v === "number" && Number.isFinite(v),
  list: (v) => Array.isArray(v),
};

/** `parent[key]` when it is of `kind` (KINDS), else a ModelConfigError naming `where`. */
function need(parent, key, kind, where = key) {
  const value = parent[key];
  if (value === undefined) throw new ModelConfigError(`"${where}" is missing`);
  if (!KINDS[kind](value)) throw new ModelConfigError(`"${where}" is not a${kind === "object" ? "n" : ""} ${kind}`);
  return value;
}

function oneOf(parent, key, allowed, where) {
  const value = parent[key];
  if (!allowed.includes(value)) {
    throw new ModelConfigError(`"${where}.${key}" is ${JSON.stringify(value)}: one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
  }
  return value;
}

function readFiles(files) {
  const checked = {};
  for (const [name, entry] of Object.entries(files)) {
    const where = `files.${name}`;
    need(entry ?? {}, "bytes", "count", `${where}.bytes`);
    if (!/^[0-9a-f]{64}$/i.test(entry.sha256 ?? "")) throw new ModelConfigError(`"${where}.sha256" is not a sha256`);
    checked[name] = { bytes: entry.bytes, sha256: entry.sha256.toLowerCase() };
  }
  return checked;
}

function listed(files, name) {
  if (!files[name]) throw new ModelConfigError(`it does not list the size and sha256 of ${name}`);
  return name;
}

function readGraph(graphs, kind, files) {
  const where = `graphs.${kind}`;
  const entry = need(graphs, kind, "object", where);
  const model = listed(files, need(entry, "model", "string", `${where}.model`));
  const data = need(entry, "data", "list", `${where}.data`).map((name) => listed(files, name));
  const chunks = need(entry, "data_chunks", "object", `${where}.data_chunks`);
  const dataChunks = Object.fromEntries(data.map((name) => [name, readChunks(chunks[name], files[name].bytes, `${where}.data_chunks.${name}`)]));
  return {
    backend: kind,
    model,
    data,
    dataChunks,
    head: readHead(need(entry, "head", "object", `${where}.head`), `${where}.head`),
    session: ortSessionOptions(need(entry, "session", "object", `${where}.session`), `${where}.session`),
    kvCache: need(entry, "kv_cache", "string", `${where}.kv_cache`) && oneOf(entry, "kv_cache", KV_CACHE, where),
    rest: readRest(entry.rest, files, `${where}.rest`),
  };
}

/** A graph's `rest` (null without one): a listed file that holds the records it says. */
function readRest(rest, files, where) {
  if (rest === undefined) return null;
  if (!KINDS.object(rest)) throw new ModelConfigError(`"${where}" is not an object`);
  const count = (key) => {
    const value = need(rest, key, "count", `${where}.${key}`);
    if (value === 0) throw new ModelConfigError(`"${where}.${key}" is 0`);
    return value;
  };
  const file = listed(files, need(rest, "file", "string", `${where}.file`));
  const [rows, width, block] = [count("rows"), count("width"), count("block")];
  const [recordBytes, idsOffset, recordsOffset] = [count("record_bytes"), count("ids_offset"), count("records_offset")];
  if (width % block !== 0 || width % 2 !== 0) {
    throw new ModelConfigError(`"${where}" has width ${width} and block ${block}: an even width, a whole number of blocks`);
  }
  const blocks = width / block;
  const needed = 4 * blocks + width / 2 + Math.ceil(blocks / 2); // scales, packed, zero points
  if (recordBytes < needed) throw new ModelConfigError(`"${where}.record_bytes" is ${recordBytes}: a record needs ${needed}`);
  if (idsOffset < 16 /* the header */ || recordsOffset < idsOffset + 4 * rows || files[file].bytes < recordsOffset + rows * recordBytes) {
    throw new ModelConfigError(`"${where}" puts its ids and records outside ${file}`);
  }
  return { file, rows, width, block, recordBytes, idsOffset, recordsOffset };
}

/** Chunk starts: 0 first, ascending, inside the file (a tensor boundary each). */
function readChunks(starts, size, where) {
  const usable = Array.isArray(starts) && starts[0] === 0 && starts.every(
    (start, i) => Number.isInteger(start) && (start < size || size === 0) && (i === 0 || start > starts[i - 1]),
  );
  if (!usable) throw new ModelConfigError(`"${where}" is not a list of ascending offsets from 0 inside the file`);
  return [...starts];
}

function readHead(head, where) {
  const kept = need(head, "kept", "count", `${where}.kept`);
  const of = need(head, "of", "count", `${where}.of`);
  if (kept > of) throw new ModelConfigError(`"${where}" keeps ${kept} of ${of} tokens`);
  return { kept, of, rule: need(head, "rule", "string", `${where}.rule`) };
}

/** `list` when it is an array of `kind` (KINDS) values. */
function listOf(list, kind, where) {
  if (!Array.isArray(list)) throw new ModelConfigError(`"${where}" is not a list`);
  const wrong = list.findIndex((value) => !KINDS[kind](value));
  if (wrong >= 0) throw new ModelConfigError(`"${where}[${wrong}]" is not a ${kind}`);
  return [...list];
}

function readSelfCheck(check) {
  const steps = need(check, "steps", "list", "self_check.steps").map((step, n) => {
    const where = `self_check.steps[${n}]`;
    const topIds = listOf(step.top_ids, "count", `${where}.top_ids`);
    const topLogits = listOf(step.top_logits, "number", `${where}.top_logits`);
    if (topIds.length !== topLogits.length) throw new ModelConfigError(`"${where}" has ${topIds.length} ids and ${topLogits.length} logits`);
    return { feed: listOf(step.feed, "count", `${where}.feed`), topIds, topLogits };
  });
  if (!steps.length) throw new ModelConfigError('"self_check.steps" is empty');
  return {
    promptIds: listOf(check.prompt_ids, "count", "self_check.prompt_ids"),
    steps,
    atol: need(check, "atol", "number", "self_check.atol"),
    rtol: need(check, "rtol", "number", "self_check.rtol"),
  };
}
