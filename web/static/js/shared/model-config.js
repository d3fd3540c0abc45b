// Which ONNX graph each backend runs, the files it needs, and what its output head keeps.
//
// An export holds one graph per backend (conteur.json `graphs`): WebGPU runs
// `model.onnx`, WASM `model-cpu.onnx` (int8 layers for the CPU kernels and an output
// head cut to a shortlist; its logits are -inf elsewhere). Each graph lists its
// external-data files, so a reader downloads only its backend's; a file both listed
// would be downloaded once (today's export shares none). Older exports have no
// `graphs`: both backends run `model.onnx` with `model.onnx.data`, and the head keeps
// every token.

import { ModelConfigError } from "./errors.js";

/** Backends, as conteur.json `graphs` names them. */
export const BACKEND_KINDS = ["webgpu", "wasm"];

const LEGACY_GRAPH = { model: "model.onnx", data: ["model.onnx.data"] };

/**
 * @typedef {{kept: number, of: number, rule: string}} Head
 * kept: tokens the output head can write; of: the vocabulary; rule: why ("full", or
 * the exporter's description, e.g. "story shortlist: …").
 */

/**
 * The graph `kind` runs.
 * @param {object} config conteur.json
 * @param {"webgpu" | "wasm"} kind
 * @returns {{model: string, data: string[], head: Head}} data: external-data file
 *   names, exactly as the graph references them
 */
export function graphFor(config, kind) {
  const graph = config.graphs ? config.graphs[kind] : LEGACY_GRAPH;
  if (typeof graph?.model !== "string" || !Array.isArray(graph.data)) {
    throw new ModelConfigError(`"graphs" has no usable "${kind}" entry`);
  }
  const unlisted = [graph.model, ...graph.data].find((name) => !config.files[name]);
  if (unlisted !== undefined) throw new ModelConfigError(`it does not list the size and sha256 of ${unlisted}`);
  const result = { model: graph.model, data: [...graph.data], head: headOf(graph, config) };
  // Where each data file may be cut at tensor boundaries (js/chunked-file.js); optional.
  if (graph.data_chunks && typeof graph.data_chunks === "object") result.chunks = { ...graph.data_chunks };
  return result;
}

/**
 * Every file a graph needs, the graph itself first.
 * @param {{model: string, data: string[]}} graph
 * @returns {string[]}
 */
export function graphFiles(graph) {
  return [graph.model, ...graph.data];
}

/**
 * The head's rule in a few words: the part before the exporter's explanation.
 * @param {Head} head
 * @returns {string} "full" for a head that keeps every token
 */
export function headRuleName(head) {
  return head.kept >= head.of ? "full" : head.rule.split(":")[0].trim();
}

function headOf(graph, config) {
  const vocabulary = config.architecture.vocab_size;
  const head = graph.head ?? {};
  const of = Number.isInteger(head.of) ? head.of : vocabulary;
  const kept = Number.isInteger(head.kept) ? head.kept : of;
  return { kept, of, rule: typeof head.rule === "string" ? head.rule : "full" };
}
