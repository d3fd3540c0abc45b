// Is there a WebGPU adapter, and is it real hardware?
//
// A software (fallback) adapter such as SwiftShader emulates the GPU on the CPU and
// is slower than the WASM path: the backend choice (worker/backend-choice.js) takes
// it only when the reader asks for WebGPU.

/**
 * The first WebGPU adapter, described for the reader, or null when there is none.
 * @returns {Promise<{description: string, fallback: boolean} | null>}
 *   fallback: a software adapter
 */
export async function findWebGPU() {
  if (!globalThis.navigator?.gpu) return null;
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter();
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const parts = [info.description, info.vendor, info.architecture, info.device].filter(Boolean);
  const description = parts.length ? [...new Set(parts)].join(" ") : "unnamed adapter";
  return { description, fallback };
}
