// The speed check under Advanced settings: prefill and decode tokens/s on this backend.
//
// Readers run it on their own machines and copy one line of JSON, which is how
// numbers from real GPUs reach us; the bench reads the same line. It feeds a
// fixed prompt (the self-check's words, repeated) and then decodes greedily, on the
// same runner the stories use, and leaves the KV cache empty.

export const PREFILL_TOKENS = 64;
export const DECODE_TOKENS = 16;

/**
 * `length` ids: BOS, then the self-check prompt's words over and over.
 * @param {number[]} promptIds the self-check prompt, BOS first
 * @param {number} length
 * @returns {Int32Array}
 */
export function speedPrompt(promptIds, length) {
  const words = promptIds.length > 1 ? promptIds.slice(1) : promptIds;
  const ids = new Int32Array(length);
  ids[0] = promptIds[0];
  for (let i = 1; i < length; i++) ids[i] = words[(i - 1) % words.length];
  return ids;
}

/**
 * Measure prefill and decode speed.
 * @param {object} runner an OrtRunner (reset before and after)
 * @param {{backend: string, adapter: string, check: string, onnxruntime_web: string,
 *          model: string, head: {kept: number}, promptIds: number[]}} info where and what runs
 * @returns {Promise<object>} the result, every field a plain number or string
 */
export async function measureSpeed(runner, info) {
  const prompt = speedPrompt(info.promptIds, Math.min(PREFILL_TOKENS, runner.contextLength - DECODE_TOKENS));
  await runner.reset();
  try {
    const prefillStarted = performance.now();
    let candidates = await runner.step(prompt);
    const prefillSeconds = (performance.now() - prefillStarted) / 1000;
    const decodeStarted = performance.now();
    for (let i = 0; i < DECODE_TOKENS; i++) candidates = await runner.step(Int32Array.of(candidates.ids[0]));
    const decodeSeconds = (performance.now() - decodeStarted) / 1000;
    const round = (x, digits = 3) => Number(x.toFixed(digits));
    return {
      backend: info.backend,
      adapter: info.adapter,
      self_check: info.check,
      model: info.model,
      head_tokens: info.head.kept, // the CPU graph's shortlist head makes decoding cheaper
      onnxruntime_web: info.onnxruntime_web,
      prefill_tokens: prompt.length,
      prefill_seconds: round(prefillSeconds, 6),
      prefill_tokens_per_second: round(prompt.length / prefillSeconds, 2),
      decode_tokens: DECODE_TOKENS,
      decode_seconds: round(decodeSeconds, 6),
      decode_tokens_per_second: round(DECODE_TOKENS / decodeSeconds, 2),
      cores: navigator.hardwareConcurrency ?? null,
      user_agent: navigator.userAgent,
      measured_at: new Date().toISOString(),
    };
  } finally {
    await runner.reset();
  }
}
