// The model folder's files, fetched with progress and checked against conteur.json.
//
// Every file is verified (size and sha256) before onnxruntime or the tokenizer
// sees it: a truncated download or a damaged cache entry must give a clear
// message, not a confusing failure inside the runtime. A damaged file is also
// dropped from the service worker's cache, so a reload downloads it again.

import { DownloadError, ModelConfigError, ModelFileCorruptError, ModelFileMissingError } from "../shared/errors.js";
import { BACKEND_KINDS, graphFiles, graphFor } from "../shared/model-config.js";
import { ChunkedFile } from "./chunked-file.js";
import { Sha256 } from "./sha256.js";

export const MODEL_FOLDER = "model/";
const PROGRESS_INTERVAL_MS = 100;

/**
 * Read and sanity-check `model/conteur.json`.
 * @param {URL} base the site's root URL
 * @returns {Promise<object>} the parsed config
 */
export async function readConfig(base) {
  const name = "conteur.json";
  const response = await get(new URL(MODEL_FOLDER + name, base), name);
  let config;
  try {
    config = await response.json();
  } catch (error) {
    throw new ModelConfigError(`it is not valid JSON (${error.message})`);
  }
  if (config?.format !== "conteur-model") throw new ModelConfigError("it is not a Conteur model description");
  for (const key of ["architecture", "graph", "files"]) {
    if (typeof config[key] !== "object" || config[key] === null) throw new ModelConfigError(`"${key}" is missing`);
  }
  for (const kind of BACKEND_KINDS) graphFor(config, kind); // a broken `graphs` fails here, before any download
  return config;
}

/**
 * Fetch the files of `graph` that `held` lacks, into `held`. Files another graph
 * fetched before (the shared embedding) are not downloaded again.
 * @param {URL} base the site's root URL
 * @param {object} config conteur.json
 * @param {{model: string, data: string[]}} graph from model-graphs.js graphFor
 * @param {(p: {file: string, loaded: number, total: number}) => void} onProgress
 * @param {Map<string, Uint8Array>} held file name → bytes
 * @param {{chunked?: boolean}} [options] chunked: hold data files as ChunkedFiles. Only
 *   for WASM sessions, which copy each tensor out at once; WebGPU uploads keep the
 *   views they are given, so its files stay plain arrays.
 * @returns {Promise<void>}
 */
export async function fetchGraphFiles(base, config, graph, onProgress, held, { chunked = false } = {}) {
  const missing = graphFiles(graph).filter((name) => !held.has(name));
  const fetch = (name) =>
    fetchModelFile(base, config, name, onProgress, {
      chunked: chunked && graph.data.includes(name),
      chunkStarts: graph.chunks?.[name],
    });
  const fetched = await Promise.all(missing.map(fetch));
  missing.forEach((name, i) => held.set(name, fetched[i]));
}

/**
 * Fetch one file of the model folder and verify it against conteur.json.
 * @param {URL} base the site's root URL
 * @param {object} config conteur.json
 * @param {string} name file name inside the model folder
 * @param {(p: {file: string, loaded: number, total: number}) => void} onProgress
 *   file: the site path ("model/NAME"), as the service worker's precache reports it
 * @param {{chunked?: boolean, chunkStarts?: number[]}} [options] chunked: hold the bytes
 *   as a ChunkedFile (graph data files, which onnxruntime copies out tensor by tensor),
 *   cut where `chunkStarts` says (conteur.json `data_chunks`)
 * @returns {Promise<Uint8Array>} the file's bytes (a ChunkedFile when `chunked`)
 */
export async function fetchModelFile(base, config, name, onProgress, { chunked = false, chunkStarts } = {}) {
  const expected = config.files[name];
  if (!expected || !Number.isInteger(expected.bytes) || typeof expected.sha256 !== "string") {
    throw new ModelConfigError(`it does not list the size and sha256 of ${name}`);
  }
  const url = new URL(MODEL_FOLDER + name, base);
  const response = await get(url, name);
  const report = (p) => onProgress({ ...p, file: MODEL_FOLDER + name }); // one progress row per file
  // The service worker marks cached backend files whose download this check passed:
  // hashing them again would cost ~1 s on every start.
  const checked = response.headers.get("X-Conteur-Checked") === "1" && response.headers.get("X-Conteur-Sha256") === expected.sha256;
  const hasher = checked ? null : new Sha256();
  const bytes = await readAll(response, name, chunked ? new ChunkedFile(expected.bytes, chunkStarts) : new Uint8Array(expected.bytes), report, hasher);
  if (hasher && hasher.hex() !== expected.sha256.toLowerCase()) {
    await forgetCached(url);
    throw new ModelFileCorruptError(name, "its sha256 checksum does not match conteur.json");
  }
  return bytes;
}

/** @returns {Promise<Response>} */
async function get(url, name) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new DownloadError(name, String(error));
  }
  if (!response.ok) throw new ModelFileMissingError(name, response.status);
  return response;
}

/**
 * Stream the body into `bytes` (a Uint8Array or ChunkedFile of the expected size),
 * reporting progress and hashing each piece as it arrives.
 */
async function readAll(response, name, bytes, onProgress, hasher) {
  const total = bytes.byteLength;
  const reader = response.body.getReader();
  let loaded = 0;
  let reported = 0;
  onProgress({ file: name, loaded: 0, total });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > total) {
        await reader.cancel();
        await forgetCached(new URL(response.url));
        throw new ModelFileCorruptError(name, `it is larger than the ${total.toLocaleString("en")} bytes conteur.json lists`);
      }
      if (bytes instanceof ChunkedFile) bytes.write(value, loaded);
      else bytes.set(value, loaded);
      hasher?.update(value);
      loaded += value.length;
      const now = performance.now();
      if (now - reported > PROGRESS_INTERVAL_MS) {
        reported = now;
        onProgress({ file: name, loaded, total });
      }
    }
  } catch (error) {
    if (error instanceof ModelFileCorruptError) throw error;
    throw new DownloadError(name, String(error));
  }
  onProgress({ file: name, loaded, total });
  if (loaded !== total) {
    await forgetCached(new URL(response.url));
    throw new ModelFileCorruptError(name, `it has ${loaded.toLocaleString("en")} bytes, conteur.json lists ${total.toLocaleString("en")}`);
  }
  return bytes;
}

/** Drop a damaged file from this site's service-worker caches (see sw.js for the naming). */
async function forgetCached(url) {
  if (!globalThis.caches) return;
  try {
    for (const key of await caches.keys()) {
      if (key.startsWith("conteur:")) await (await caches.open(key)).delete(url.href, { ignoreSearch: true });
    }
  } catch {
    // Storage may be unavailable (private mode): nothing cached, nothing to drop.
  }
}
