// A bound on how long the worker waits for the GPU.
//
// A WebGPU call can stay pending for ever (a hung driver, a device the system took
// back): the self-check and every WebGPU step are raced against a timer, so a hung GPU
// turns into an error the worker can act on (fall back to WASM) instead of a wait
// without end.

/** Thrown when a bounded wait ran out. */
export class TimeLimitError extends Error {
  /** @param {string} what the step that did not finish @param {number} ms its limit */
  constructor(what, ms) {
    super(`${what} did not finish within ${ms / 1000} s`);
    this.name = "TimeLimitError";
  }
}

/**
 * `promise`, or a TimeLimitError once `ms` have passed; the timer never outlives it.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what named in the error ("the WebGPU self-check")
 * @returns {Promise<T>}
 */
export async function withinTime(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
