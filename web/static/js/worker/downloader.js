// The model worker's download helper: a worker of its own that reads the graph's
// files, so Python's start does not hold them up (worker/downloader-client.js starts
// it and takes the files over).
//
// Python's start holds the model worker's thread for seconds at a time (CPython
// starting, pyshell importing: 1.5 s and 0.4 s on a first visit here). A download
// read on that thread stops with it, and on a first visit stops the service worker's
// store too, which reads in step with the page (shared/lockstep-tee.js). Read here,
// the files come in while Python starts. The bytes then move to the model worker as
// they are (transferred, not copied), so the weights are still held once.
//
// Jobs: {id, job: "file", base, config, name, chunkStarts} → model-files.js
// fetchModelFile; {id, job: "rest", base, config, rest} → rest-rows.js keepRestFile.
// Answers: {id, progress} while it runs, then {id, value} or {id, error} (an
// ErrorMessage, shared/errors.js).

import { toMessage } from "../shared/errors.js";
import { ChunkedFile } from "./chunked-file.js";
import { fetchModelFile } from "./model-files.js";
import { keepRestFile } from "./rest-rows.js";

const JOBS = {
  file: ({ base, config, name, chunkStarts }, onProgress) =>
    fetchModelFile(new URL(base), config, name, onProgress, chunkStarts),
  rest: ({ base, config, rest }, onProgress) => keepRestFile(new URL(base), config, rest, onProgress),
};

self.onmessage = async ({ data: { id, job, ...args } }) => {
  const onProgress = (progress) => self.postMessage({ id, progress });
  try {
    const { value, transfer } = handOver(await JOBS[job](args, onProgress));
    self.postMessage({ id, value }, transfer);
  } catch (error) {
    self.postMessage({ id, error: toMessage(error) });
  }
};

/** A job's result as it crosses to the model worker: a file's bytes move, not copy. */
function handOver(result) {
  if (result instanceof ChunkedFile) {
    const { value, transfer } = result.handOver();
    return { value: { chunked: value }, transfer };
  }
  if (result instanceof Uint8Array) return { value: { bytes: result }, transfer: [result.buffer] };
  return { value: {}, transfer: [] };
}
