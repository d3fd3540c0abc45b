// The WebGPU device going away while the model runs on it.
//
// A driver reset, a crashed GPU process, a phone reclaiming the GPU of a background tab
// or `device.destroy()` end the device onnxruntime-web runs on. Every later step then
// fails (measured on SwiftShader after destroy(): "Failed to download data from buffer
// … mapAsync … Buffer was unmapped before mapping was resolved"), or on some drivers
// never returns. A GpuGuard watches `device.lost` on onnxruntime-web's device
// (`ort.env.webgpu.device`, set once a WebGPU session exists) and bounds each session
// run in time; the first failure, whichever it is, marks the GPU as failed for good.
// The worker (worker/main.js) then moves to WASM and writes the story again from the
// same seed (worker/model-loader.js switchToWasm).

import { withinTime } from "./time-limit.js";

/**
 * Most time one WebGPU session run may take (ms). A real GPU runs a step of Gemma 3
 * 270M in milliseconds, and its first 31-token prompt run (shaders compiled on first
 * use) in seconds; a software adapter such as SwiftShader needs minutes for that first
 * run with the real model (its self-check took 95 s, docs/architecture.md).
 */
export const STEP_LIMIT_MS = { hardware: 60_000, software: 600_000 };

/** How long `why()` waits for device.lost after a step failed (ms). */
const LOST_WAIT_MS = 250;

/** Watches one WebGPU session's device and bounds its runs; `failure` says what broke. */
export class GpuGuard {
  /**
   * Wrap `session.run` so that each run is bounded and a lost device ends it at once.
   * @param {object} ort the onnxruntime-web module (its env.webgpu.device)
   * @param {object} session the WebGPU InferenceSession
   * @param {{fallback: boolean}} gpu the adapter (a software one gets the longer limit)
   * @param {{hardware: number, software: number}} [limits] most time per run (ms)
   */
  constructor(ort, session, gpu, limits = STEP_LIMIT_MS) {
    /** @type {Error | null} why the GPU can no longer be used (null: it can) */
    this.failure = null;
    /** @type {{reason: string, message: string} | null} device.lost's answer, once it came */
    this.lostInfo = null;
    this.limitMs = gpu.fallback ? limits.software : limits.hardware;
    this.lost = new Promise((_, reject) => {
      this.rejectLost = reject;
    });
    this.lost.catch(() => {}); // only ever awaited through a race
    const device = ort.env?.webgpu?.device;
    this.deviceLost = device?.lost?.then((info) => {
      this.lostInfo = { reason: info.reason || "unknown", message: info.message };
      this.fail(new Error(`the WebGPU device was lost (${this.lostInfo.reason}): ${info.message}`));
    }) ?? new Promise(() => {});
    const run = session.run.bind(session);
    session.run = (...args) => this.run(run(...args));
  }

  /** @returns {boolean} a step failed or the device was lost: move to WASM */
  get failed() {
    return this.failure !== null;
  }

  /**
   * What went wrong, in a few English words for the reader's notice: the device's loss
   * when it was lost (a failing step often comes a moment before \`lost\` resolves, so
   * this waits up to LOST_WAIT_MS for it), else that a step failed.
   * @returns {Promise<string>}
   */
  async why() {
    await Promise.race([this.deviceLost, new Promise((resolve) => setTimeout(resolve, LOST_WAIT_MS))]);
    if (this.lostInfo) return `the WebGPU device was lost: ${this.lostInfo.reason}`;
    return this.failure?.name === "TimeLimitError" ? this.failure.message : "a WebGPU step failed";
  }

  /** @param {Error} error the first failure is kept */
  fail(error) {
    this.failure ??= error;
    this.rejectLost(this.failure);
  }

  /** One session run, raced against the device's loss and the step limit. */
  async run(pending) {
    if (this.failure) throw this.failure;
    try {
      return await withinTime(Promise.race([pending, this.lost]), this.limitMs, "a WebGPU step");
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}
