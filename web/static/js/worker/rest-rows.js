// The CPU graph's rest rows: the input embedding of the tokens its output head does
// not keep, read from their own file (conteur.json `graphs.wasm.rest`) as prompts need them.
//
// The table is 74 MB that onnxruntime would otherwise copy into its wasm heap, which
// never shrinks; the model never writes those tokens, so only prompt tokens need a row.
// Each session run feeds the rows of its positions as three inputs (rest_scales,
// rest_packed, rest_zero_points; zeros for a kept token, whose row the graph ignores)
// and the graph dequantizes them with the op it used on the table: the same logits.
//
// The file (little-endian): "CTRR", uint32 version 1, uint32 rows N, uint32 record
// bytes R; at ids_offset N int32 token ids, ascending; at records_offset N records of
// R bytes, record k for ids[k]: float32 scales[width / block], uint8 packed[width / 2]
// (4-bit values), uint8 zero_points[ceil(width / block / 2)], zero padding to R.
//
// On the page the source is the copy the service worker stored, as a Blob the browser
// keeps on disk: a run reads only its records, never the whole file.

import { DownloadError, ModelFileCorruptError, ModelFileMissingError } from "../shared/errors.js";
import { fetchModelFile, MODEL_FOLDER, readStored } from "./model-files.js";

const MAGIC = "CTRR";
const VERSION = 1;
const HEADER_BYTES = 16;
const PROGRESS_INTERVAL_MS = 100;

/**
 * @typedef {Uint8Array | Blob} RestSource
 * The whole file in memory, or a Blob to read byte ranges of.
 */

/** The rest rows of one CPU graph: its ids in memory, its records read per run. */
export class RestRows {
  /**
   * Read the header and the ids of `source`, checked against conteur.json's `rest`.
   * @param {RestSource} source
   * @param {import("../shared/model-config.js").Rest} rest
   * @returns {Promise<RestRows>}
   */
  static async open(source, rest) {
    const read = readerOf(source);
    const wrong = (why) => new ModelFileCorruptError(rest.file, why);
    const size = source instanceof Uint8Array ? source.byteLength : source.size;
    const end = rest.recordsOffset + rest.rows * rest.recordBytes;
    if (size < end) throw wrong(`it has ${size.toLocaleString("en")} bytes, its rows need ${end.toLocaleString("en")}`);
    const header = new DataView((await read(0, HEADER_BYTES)).slice().buffer);
    const magic = String.fromCharCode(...new Uint8Array(header.buffer, 0, 4));
    if (magic !== MAGIC) throw wrong(`it does not start with "${MAGIC}"`);
    const fields = { version: VERSION, rows: rest.rows, "record bytes": rest.recordBytes };
    const found = { version: header.getUint32(4, true), rows: header.getUint32(8, true), "record bytes": header.getUint32(12, true) };
    for (const [field, expected] of Object.entries(fields)) {
      if (found[field] !== expected) throw wrong(`its header says ${field} ${found[field]}, conteur.json ${expected}`);
    }
    // A copy, aligned for an Int32Array (which reads little-endian, as every browser's platform is).
    const ids = new Int32Array((await read(rest.idsOffset, rest.idsOffset + 4 * rest.rows)).slice().buffer);
    return new RestRows(read, ids, rest);
  }

  /**
   * @param {(start: number, end: number) => Promise<Uint8Array>} read the file's bytes start..end
   * @param {Int32Array} ids the tokens with a record, ascending
   * @param {import("../shared/model-config.js").Rest} rest
   */
  constructor(read, ids, rest) {
    this.read = read;
    this.ids = ids;
    this.recordsOffset = rest.recordsOffset;
    this.recordBytes = rest.recordBytes;
    /** Per row: float32 scales, packed bytes, zero-point bytes (the inputs' widths). */
    this.scales = rest.width / rest.block;
    this.packed = rest.width / 2;
    this.zeroPoints = Math.ceil(this.scales / 2);
  }

  /**
   * The graph's rest inputs for a run over `ids`: row i is the record of ids[i], or
   * zeros when ids[i] is a kept token. Each record is read once, none when no token needs one.
   * @param {object} ort the onnxruntime-web module (its Tensor)
   * @param {Int32Array | number[]} ids the run's input_ids
   * @returns {Promise<{rest_scales: object, rest_packed: object, rest_zero_points: object}>}
   */
  async feeds(ort, ids) {
    const rows = ids.length;
    const scales = new Float32Array(rows * this.scales);
    const packed = new Uint8Array(rows * this.packed);
    const zeroPoints = new Uint8Array(rows * this.zeroPoints);
    /** @type {Map<number, number[]>} record → the positions that need it */
    const needed = new Map();
    for (let i = 0; i < rows; i++) {
      const record = this.recordOf(Number(ids[i]));
      if (record < 0) continue;
      if (needed.has(record)) needed.get(record).push(i);
      else needed.set(record, [i]);
    }
    const scaleBytes = new Uint8Array(scales.buffer); // the file's little-endian float32s, copied as they are
    const fields = [[scaleBytes, 4 * this.scales], [packed, this.packed], [zeroPoints, this.zeroPoints]];
    await Promise.all([...needed].map(async ([record, positions]) => {
      const start = this.recordsOffset + record * this.recordBytes;
      const bytes = await this.read(start, start + this.recordBytes);
      for (const i of positions) {
        let at = 0;
        for (const [target, width] of fields) {
          target.set(bytes.subarray(at, at + width), i * width);
          at += width;
        }
      }
    }));
    return {
      rest_scales: new ort.Tensor("float32", scales, [rows, this.scales]),
      rest_packed: new ort.Tensor("uint8", packed, [rows, this.packed]),
      rest_zero_points: new ort.Tensor("uint8", zeroPoints, [rows, this.zeroPoints]),
    };
  }

  /** The record of token `id` (binary search in the ascending ids), or -1 for a kept token. */
  recordOf(id) {
    let low = 0;
    let high = this.ids.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = this.ids[middle];
      if (found === id) return middle;
      if (found < id) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}

/**
 * Pass the rest file through now, beside the graph's files, without holding it: the
 * service worker stores a backend's files as they are first fetched (sw.js), so the
 * page is ready (and usable offline) with the file stored, and a story later reads it
 * from that store. Without a service worker the bytes are dropped, and the first
 * story downloads the file whole (openRestRows).
 * @param {URL} base the site's root URL
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @param {import("../shared/model-config.js").Rest} rest the CPU graph's `rest`
 * @param {import("./model-files.js").OnProgress} onProgress
 * @returns {Promise<void>} rejects as a model file's download does (errors.js)
 */
export async function keepRestFile(base, config, rest, onProgress) {
  const url = new URL(MODEL_FOLDER + rest.file, base);
  const { bytes: total, sha256 } = config.files[rest.file];
  const report = (loaded) => onProgress({ file: MODEL_FOLDER + rest.file, loaded, total });
  if (await readStored(base, url, sha256)) return report(total);
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new DownloadError(rest.file, String(error));
  }
  if (!response.ok) throw new ModelFileMissingError(rest.file, response.status);
  const reader = response.body.getReader();
  let loaded = 0;
  let reported = 0;
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      loaded += part.value.length;
      if (performance.now() - reported > PROGRESS_INTERVAL_MS) {
        reported = performance.now();
        report(loaded);
      }
    }
  } catch (error) {
    throw new DownloadError(rest.file, String(error));
  }
  // The service worker ends a download short when its sha256 does not match.
  if (loaded !== total) throw new ModelFileCorruptError(rest.file, `it has ${loaded.toLocaleString("en")} bytes, conteur.json lists ${total.toLocaleString("en")}`);
  report(total);
}

/**
 * The page's rest rows: from the copy the service worker stored, a Blob on disk, or
 * else downloaded whole (and sha256-checked) when it has not stored the file.
 * @param {URL} base the site's root URL
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @param {import("../shared/model-config.js").Rest} rest the CPU graph's `rest`
 * @returns {Promise<RestRows>}
 */
export async function openRestRows(base, config, rest) {
  const url = new URL(MODEL_FOLDER + rest.file, base);
  const stored = await readStored(base, url, config.files[rest.file].sha256);
  const source = stored ? await stored.blob() : await fetchModelFile(base, config, rest.file, () => {});
  return RestRows.open(source, rest);
}

/** @returns {(start: number, end: number) => Promise<Uint8Array>} */
function readerOf(source) {
  if (source instanceof Uint8Array) return async (start, end) => source.subarray(start, end);
  return async (start, end) => new Uint8Array(await source.slice(start, end).arrayBuffer());
}
