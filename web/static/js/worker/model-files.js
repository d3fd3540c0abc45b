// The model folder's files, fetched with progress and checked against conteur.json.
//
// Every file is verified (size and sha256) before onnxruntime or the tokenizer
// sees it: a truncated or damaged download must give a clear message, not a
// confusing failure inside the runtime. The service worker stores a file only after
// its own sha256 check passed (sw.js), so a damaged download is never kept and a
// reload downloads it again.
//
// A dropped connection resumes where it stopped (shared/resumable-download.js): in
// the service worker when it serves the file (X-Conteur-Served), here otherwise (no
// service worker, or a hard reload that bypassed it).
//
// The sha256 is checked once: by the service worker for what it serves (a stored
// copy, X-Conteur-Checked, matched when it was stored; a download it passes on,
// X-Conteur-Verifying, holds its last piece back until it matched and ends short
// otherwise), here for any other answer.
//
// A file the service worker has already stored is read from its cache here, not
// fetched through it (shared/stored-files.js): the same bytes, four times faster,
// and the cache's key carries the sha256 that conteur.json lists.

import { DownloadError, ModelFileCorruptError, ModelFileMissingError } from "../shared/errors.js";
import { modelConfig } from "../shared/model-config.js";
import { piecesOf } from "./byte-pieces.js";
import { ChunkedFile, releaseFile } from "./chunked-file.js";
// Classic scripts shared with the service worker: each defines one global.
import "../../vendor/hash-wasm/sha256.umd.min.js";
import "../shared/sha256.js";
import "../shared/resumable-download.js";
import "../shared/stored-files.js";

const { createSha256, resumableBody, storedFiles } = globalThis;

export const MODEL_FOLDER = "model/";
const PROGRESS_INTERVAL_MS = 100;

/**
 * @typedef {(p: {file: string, loaded: number, total: number}) => void} OnProgress
 * file: the site path ("model/NAME"), as the service worker's precache reports it
 *
 * @typedef {{model: Uint8Array, externalData: {path: string, data: Uint8Array}[]}} GraphBytes
 * A graph's downloaded files, as onnxruntime-web takes them: externalData `path`s
 * are named as the graph references them.
 */

/**
 * Fetch `model/conteur.json` and check it (shared/model-config.js).
 * @param {URL} base the site's root URL
 * @returns {Promise<import("../shared/model-config.js").ModelConfig>}
 */
export async function readConfig(base) {
  const name = "conteur.json";
  const response = await get(new URL(MODEL_FOLDER + name, base), name);
  const text = await response.text().catch((error) => Promise.reject(new DownloadError(name, String(error))));
  return modelConfig(text);
}

/**
 * Fetch a graph and its data files, each checked against conteur.json.
 * @param {URL} base the site's root URL
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @param {import("../shared/model-config.js").Graph} graph
 * @param {OnProgress} onProgress
 * @param {{chunked?: boolean}} [options] chunked: hold data files as ChunkedFiles cut
 *   at the graph's `dataChunks`. Only for WASM sessions, which copy each tensor out
 *   at once; WebGPU uploads keep the views they are given, so its files stay plain.
 * @returns {Promise<GraphBytes>}
 */
export async function fetchGraph(base, config, graph, onProgress, { chunked = false } = {}) {
  const fetchData = (name) =>
    fetchModelFile(base, config, name, onProgress, chunked ? graph.dataChunks[name] : undefined);
  const [model, ...data] = await Promise.all([
    fetchModelFile(base, config, graph.model, onProgress),
    ...graph.data.map(fetchData),
  ]);
  return { model, externalData: graph.data.map((path, i) => ({ path, data: data[i] })) };
}

/**
 * Free a graph's downloaded bytes now, not at the next garbage collection: once a
 * session holds the weights (onnxruntime copies them into its heap), 220 MB of
 * garbage would otherwise linger past start-up (measured: the page stayed ~285 MB
 * higher for seconds after "ready").
 * @param {GraphBytes} bytes
 */
export function releaseGraph(bytes) {
  releaseFile(bytes.model);
  for (const { data } of bytes.externalData) releaseFile(data);
}

/**
 * Fetch one file of the model folder and verify it against conteur.json.
 * @param {URL} base the site's root URL
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @param {string} name file name inside the model folder (conteur.json lists it)
 * @param {OnProgress} onProgress
 * @param {number[]} [chunkStarts] hold the bytes as a ChunkedFile cut there (graph
 *   data files, which onnxruntime copies out tensor by tensor)
 * @returns {Promise<Uint8Array>} the file's bytes (a ChunkedFile with `chunkStarts`)
 */
export function fetchModelFile(base, config, name, onProgress, chunkStarts) {
  return fetchSiteFile(base, MODEL_FOLDER + name, config.files[name], onProgress, chunkStarts);
}

/**
 * Fetch one file of the site and verify it against the size and sha256 the build
 * gave it: the service worker's stored copy when there is one, else a download.
 * @param {URL} base the site's root URL
 * @param {string} path the file's path in the site ("model/NAME", "py/NAME")
 * @param {{bytes: number, sha256: string}} expected
 * @param {OnProgress} onProgress
 * @param {number[]} [chunkStarts] hold the bytes as a ChunkedFile cut there
 * @returns {Promise<Uint8Array>} the file's bytes (a ChunkedFile with `chunkStarts`)
 */
export async function fetchSiteFile(base, path, expected, onProgress, chunkStarts) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const url = new URL(path, base);
  const stored = await readStored(base, url, expected.sha256);
  const response = stored ?? await get(url, name);
  const report = (p) => onProgress({ ...p, file: path }); // one progress row per file
  const check = checkOf(stored, response, expected.sha256);
  const hasher = check === CHECK.here ? await createSha256() : null;
  // The service worker resumes the downloads it serves; a cache read has nothing to resume.
  const resumeHere = !stored && !response.headers.has("X-Conteur-Served");
  const body = resumeHere ? resumableBody(response, { url: url.href, size: expected.bytes }) : response.body;
  const target = chunkStarts ? new ChunkedFile(expected.bytes, chunkStarts) : new Uint8Array(expected.bytes);
  const pieces = piecesOf(body, { download: !stored });
  const bytes = await readAll(pieces, name, target, report, hasher);
  if (hasher && hasher.hex() !== expected.sha256) {
    releaseFile(bytes);
    throw corrupt(name);
  }
  return bytes;
}

/** Who checks a file's sha256 against conteur.json. */
const CHECK = {
  stored: "stored", // the service worker stored it after it matched: no hash again
  byServiceWorker: "service worker", // its stream ends short (a damaged file) unless it matched
  here: "here", // any other answer: hashed while it is read
};

/**
 * Hashing a stored file again would cost about a second on every start, and hashing
 * a download the service worker hashes too a second on the first visit.
 * @returns {string} one of CHECK
 */
function checkOf(stored, response, sha256) {
  if (stored) return CHECK.stored;
  const header = (name) => response.headers.get(name);
  if (header("X-Conteur-Sha256") !== sha256) return CHECK.here; // another build's file list
  if (header("X-Conteur-Checked") === "1") return CHECK.stored;
  if (header("X-Conteur-Verifying") === "1") return CHECK.byServiceWorker;
  return CHECK.here;
}

const corrupt = (name) => new ModelFileCorruptError(name, "its sha256 checksum does not match conteur.json");

/**
 * The copy of `url` the service worker stored after its sha256 matched `sha256`, or
 * null (not stored yet, or no Cache API here: then the file is fetched).
 * @param {URL} base the site's root URL (the service worker's scope)
 * @param {URL} url the file's URL
 * @param {string} sha256 its sha256 in conteur.json
 * @returns {Promise<Response | null>}
 */
export async function readStored(base, url, sha256) {
  try {
    if (!globalThis.caches || !(await caches.has(storedFiles.cacheName(base)))) return null;
    const cache = await caches.open(storedFiles.cacheName(base));
    const response = await cache.match(storedFiles.keyOf(url.href, sha256));
    return response?.ok && response.body ? response : null;
  } catch {
    return null; // a browser that refuses the Cache API here (a private window)
  }
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
 * Read `reader`'s pieces into `bytes` (a Uint8Array or ChunkedFile of the expected
 * size), reporting progress and hashing each piece as it arrives; each piece is used
 * before the next read, as a reused buffer needs (worker/byte-pieces.js).
 * @param {import("./byte-pieces.js").PieceReader} reader
 */
async function readAll(reader, name, bytes, onProgress, hasher) {
  const total = bytes.byteLength;
  let loaded = 0;
  let reported = 0;
  onProgress({ file: name, loaded: 0, total });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > total) {
        await reader.cancel();
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
    throw new ModelFileCorruptError(name, `it has ${loaded.toLocaleString("en")} bytes, conteur.json lists ${total.toLocaleString("en")}`);
  }
  return bytes;
}
