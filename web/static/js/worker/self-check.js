// The WebGPU self-check: does this graphics adapter compute what the exporter computed?
//
// A driver can run every kernel without an error and still return wrong numbers
// (peers have shipped WebGPU paths that write `<pad>` or nonsense on some GPUs).
// The exporter stores, in conteur.json under `self_check` (export/checks/self_check.py),
// the top candidates CPython onnxruntime gives for a short prompt and two greedy
// decode steps. After the WebGPU session opens, the worker replays the same feeds
// and compares: one short prefill and two single-token steps.
//
// A step passes when every expected id is among the candidates that came back and
// its logit is within `atol + rtol * |expected|`; near-ties may swap places on
// another device, wrong arithmetic moves logits by whole units.
//
// Verdicts are remembered per adapter, onnxruntime-web version and model (the
// page keeps them in localStorage), so an adapter that failed once goes straight
// to WASM on the next visit; an explicit WebGPU choice checks again.

/** Outcomes, as the backend badge's `data-check` shows them. */
export const CHECK = { passed: "passed", failed: "failed", skipped: "skipped" };

/**
 * The key a verdict is remembered under.
 * @param {string} adapter the adapter's description
 * @param {string} ortVersion onnxruntime-web's version
 * @param {import("../shared/model-config.js").ModelConfig} config
 * @returns {string}
 */
export function verdictKey(adapter, ortVersion, config) {
  return `${adapter} | onnxruntime-web ${ortVersion} | ${config.label} ${webgpuWeights(config)}`;
}

/** The WebGPU graph's weights, by the first 16 digits of each data file's sha256. */
function webgpuWeights(config) {
  return config.graphs.webgpu.data.map((name) => config.files[name].sha256.slice(0, 16)).join("+");
}

/**
 * What differs between one expected step and the candidates a device returned.
 * @param {{topIds: number[], topLogits: number[]}} step the expectation
 * @param {{ids: ArrayLike<number>, scores: ArrayLike<number>}} got the runner's candidates
 * @param {{atol: number, rtol: number}} tolerance
 * @returns {string[]} empty when the step passes
 */
export function stepMismatches(step, got, { atol, rtol }) {
  const logits = new Map();
  for (let i = 0; i < got.ids.length; i++) logits.set(Number(got.ids[i]), Number(got.scores[i]));
  const problems = [];
  step.topIds.forEach((id, k) => {
    const expected = step.topLogits[k];
    const value = logits.get(id);
    if (value === undefined) {
      problems.push(`token ${id} is missing from the candidates`);
    } else if (!(Math.abs(value - expected) <= atol + rtol * Math.abs(expected))) {
      problems.push(`token ${id}: logit ${value.toFixed(4)}, expected ${expected.toFixed(4)}`);
    }
  });
  return problems;
}

/**
 * Replay conteur.json's self_check on `runner` (an OrtRunner); leaves its cache empty.
 * @param {object} runner an OrtRunner over the session under test
 * @param {import("../shared/model-config.js").SelfCheck} check
 * @returns {Promise<{status: string, problems: string[], seconds: number, steps: number}>}
 */
export async function runSelfCheck(runner, check) {
  const started = performance.now();
  const tolerance = { atol: check.atol, rtol: check.rtol };
  const problems = [];
  await runner.reset();
  try {
    for (const [n, step] of check.steps.entries()) {
      const got = await runner.step(Int32Array.from(step.feed));
      for (const problem of stepMismatches(step, got, tolerance)) problems.push(`step ${n + 1}: ${problem}`);
    }
  } finally {
    await runner.reset();
  }
  return {
    status: problems.length ? CHECK.failed : CHECK.passed,
    problems,
    seconds: (performance.now() - started) / 1000,
    steps: check.steps.length,
  };
}
