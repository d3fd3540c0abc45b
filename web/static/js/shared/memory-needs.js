// How much memory Conteur needs while the model loads, from the bench's measurement.
//
// bench/RESULTS.md: with Gemma 3 270M on WASM the browser's whole process tree peaked at
// 1,387 MB PSS (1,324–1,408 MB over three runs, 2026-12-03 09:22 UTC; 1,278–1,331 MB
// in the run an hour before on the same machine), while the model loaded. The page and
// the worker's messages quote this figure; page/memory-check.js compares it with what the
// device reports.

/** The measured peak, rounded up a little: what the reader must leave free (GB). */
export const PEAK_MEMORY_GB = 1.4;

/**
 * navigator.deviceMemory reports the device's RAM as a power of two (0.25 … 8 GB). A
 * device that reports less than this keeps under 2 GB for the system, every app and the
 * browser together: loading a 1.4 GB peak there is likely to get the tab killed, so the
 * page asks before it loads (page/memory-check.js).
 */
export const MIN_DEVICE_MEMORY_GB = 2;

/**
 * True when `error` says an allocation failed: V8's "Array buffer allocation failed"
 * (a RangeError), a WebAssembly memory that could not grow, onnxruntime's allocator
 * (std::bad_alloc), WebGPU's GPUOutOfMemoryError.
 * @param {unknown} error
 * @returns {boolean}
 */
export function isAllocationFailure(error) {
  const text = `${error?.message ?? ""} ${error?.detail ?? ""}`;
  return /alloc|out of memory|not enough memory|\bOOM\b|could not grow|Cannot enlarge memory/i.test(text);
}
