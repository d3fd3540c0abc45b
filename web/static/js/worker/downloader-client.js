// The model worker's side of its download helper (worker/downloader.js): a graph's
// files are read there, on a thread Python's start does not hold, and arrive here as
// the same bytes model-files.js fetchModelFile and rest-rows.js keepRestFile give.
// Where a worker cannot start another, or the helper does not start, they are read
// on this thread as before.

import { fromMessage } from "../shared/errors.js";
import { ChunkedFile } from "./chunked-file.js";
import { fetchModelFile } from "./model-files.js";
import { keepRestFile } from "./rest-rows.js";

/**
 * @typedef {object} Downloads
 * @property {typeof fetchModelFile} file one file of the model folder, checked
 * @property {typeof keepRestFile} rest the CPU graph's rest rows, passed through for the store
 * @property {() => void} close stop the helper; call once its files are in
 */

/**
 * Downloads for one graph, on the helper where there can be one.
 * @returns {Downloads}
 */
export function openDownloads() {
  const helper = DownloadHelper.start();
  if (!helper) return { file: fetchModelFile, rest: keepRestFile, close: () => {} };
  return {
    file: (base, config, name, onProgress, chunkStarts) =>
      helper.run(
        "file", { base: base.href, config: filesOf(config, name), name, chunkStarts }, onProgress,
        () => fetchModelFile(base, config, name, onProgress, chunkStarts),
      ),
    rest: (base, config, rest, onProgress) =>
      helper.run(
        "rest", { base: base.href, config: filesOf(config, rest.file), rest }, onProgress,
        () => keepRestFile(base, config, rest, onProgress),
      ),
    close: () => helper.close(),
  };
}

/** The part of conteur.json a job needs: the file's size and sha256. */
const filesOf = (config, name) => ({ files: { [name]: config.files[name] } });

/** The helper worker and the jobs it has not answered yet. */
class DownloadHelper {
  /** @returns {DownloadHelper | null} null where a worker cannot start a worker */
  static start() {
    if (typeof Worker !== "function") return null;
    try {
      // The page's build (?build=) goes on: the service worker serves the helper's
      // requests from the same version as this worker's.
      const url = new URL(`downloader.js${self.location.search}`, import.meta.url);
      return new DownloadHelper(new Worker(url, { type: "module", name: "conteur-downloads" }));
    } catch {
      return null;
    }
  }

  /** @param {Worker} worker */
  constructor(worker) {
    this.worker = worker;
    /** @type {Map<number, {resolve: Function, reject: Function, onProgress: Function, here: () => Promise<any>}>} */
    this.jobs = new Map();
    this.nextId = 0;
    this.failed = false;
    worker.onmessage = ({ data }) => this.answer(data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      this.fail();
    };
  }

  /**
   * Run `job` on the helper; `here` runs it on this thread if the helper fails.
   * @returns {Promise<any>}
   */
  run(job, args, onProgress, here) {
    if (this.failed) return here();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, onProgress, here });
      this.worker.postMessage({ id, job, ...args });
    });
  }

  answer({ id, progress, value, error }) {
    const job = this.jobs.get(id);
    if (!job) return;
    if (progress) {
      job.onProgress(progress);
      return;
    }
    this.jobs.delete(id);
    if (error) job.reject(fromMessage(error));
    else job.resolve(received(value));
  }

  /** The helper did not start (or died): its jobs start again here. */
  fail() {
    this.failed = true;
    this.worker.terminate();
    for (const job of this.jobs.values()) job.here().then(job.resolve, job.reject);
    this.jobs.clear();
  }

  close() {
    this.worker.terminate();
  }
}

/** A job's answer as this thread holds it (worker/downloader.js `handOver`). */
function received(value) {
  if (value.chunked) return new ChunkedFile(value.chunked.size, value.chunked.starts, value.chunked.buffers);
  return value.bytes;
}
