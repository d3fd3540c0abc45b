// Named errors with messages that tell the reader what to do (never a raw stack trace).
// Used on both sides of the worker boundary: the worker sends `toMessage(error)`
// (an ErrorMessage, shared/protocol.js), the page shows `errorText(error)`: `key` +
// `params` in the interface language (i18n.js), or `message` (English) for an error
// without a key.

import { translate } from "./i18n.js";
import { isAllocationFailure, PEAK_MEMORY_GB } from "./memory-needs.js";

/** Base class: `fatal` errors leave the page unable to write stories until a reload. */
export class ConteurError extends Error {
  /**
   * @param {string | null} message what happened and what to do, for the reader
   *   (null: the English text of `key`)
   * @param {{fatal?: boolean, detail?: string, key?: string, params?: object}} [options]
   *   key, params: the message in the locales (js/locales/), for the interface language
   */
  constructor(message, { fatal = true, detail = "", key = "", params = {} } = {}) {
    super(message ?? translate("en", key, params));
    this.name = new.target.name;
    this.fatal = fatal;
    this.detail = detail;
    this.key = key;
    this.params = params;
  }
}

export class PythonBootError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "error.pythonBoot", detail });
  }
}

export class PythonTimeoutError extends ConteurError {
  /** @param {number} seconds */
  constructor(seconds) {
    super(null, { key: "error.pythonTimeout", params: { seconds } });
  }
}

export class PythonPackageError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "error.pythonPackage", detail });
  }
}

export class ModelFileMissingError extends ConteurError {
  /** @param {string} file @param {number} status */
  constructor(file, status) {
    super(null, { key: "error.fileMissing", params: { file, status: String(status) } });
    this.file = file;
  }
}

export class ModelFileCorruptError extends ConteurError {
  /** @param {string} file @param {string} why */
  constructor(file, why) {
    super(null, { key: "error.fileCorrupt", params: { file, why } });
    this.file = file;
  }
}

export class DownloadError extends ConteurError {
  /** @param {string} file @param {string} detail */
  constructor(file, detail) {
    super(null, { key: "error.download", params: { file }, detail });
    this.file = file;
  }
}

export class ModelConfigError extends ConteurError {
  /**
   * @param {string} detail what is wrong, in English (the console gets it)
   * @param {import("./i18n.js").Message | string} [reason] the same for the reader, when
   *   pyshell reported it with a code (shared/pyshell-codes.js)
   */
  constructor(detail, reason = detail) {
    super(null, { key: "error.modelConfig", params: { detail: reason }, detail });
  }
}

export class SessionError extends ConteurError {
  /** @param {string} backend @param {string} detail */
  constructor(backend, detail) {
    const where = { key: backend === "webgpu" ? "error.where.webgpu" : "error.where.wasm" };
    const memory = isAllocationFailure({ message: detail });
    const params = memory ? { where, needed: PEAK_MEMORY_GB } : { where };
    super(null, { key: memory ? "error.sessionMemory" : "error.session", params, detail });
    this.memory = memory;
  }
}

/** An allocation failed while the model loaded on WASM (no smaller backend is left). */
export class OutOfMemoryError extends ConteurError {
  /** @param {string} detail the failure, in English (the console gets it) */
  constructor(detail) {
    super(null, { key: "error.outOfMemory", params: { needed: PEAK_MEMORY_GB }, detail });
  }
}

export class GenerationError extends ConteurError {
  /**
   * @param {string} detail
   * @param {import("./pyshell-codes.js").PyshellReport} [pyshell] pyshell's report, when it
   *   reported the failure with a code (the page shows that code's message)
   */
  constructor(detail, pyshell = undefined) {
    super(null, { key: "error.generation", fatal: false, detail });
    if (pyshell) this.pyshell = pyshell;
  }
}

/** A story the form's values make impossible; pyshell names the field (page/form.js shows it). */
export class StoryInputError extends ConteurError {
  /** @param {{field: string, message: string, code?: string, params?: object}} report pyshell's */
  constructor(report) {
    super(report.message, { fatal: false });
    this.field = report.field;
    this.pyshell = { code: report.code, params: report.params, message: report.message };
  }
}

/** A request that needs the model while a story or the speed check uses it. */
export class BusyError extends ConteurError {
  /** @param {"story" | "speed-check"} task what is running */
  constructor(task) {
    const running = { key: task === "story" ? "busy.story" : "busy.speedCheck" };
    super(null, { key: "error.busy", fatal: false, params: { task: running } });
  }
}

export class SpeedCheckError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "speedCheck.failed", fatal: false, params: { error: detail }, detail });
  }
}

/** The WebGPU device went away mid-story and the story could not be written again. */
export class GpuLostError extends ConteurError {
  /** @param {string} detail the device's own words, or the failing step's */
  constructor(detail) {
    super(null, { key: "error.gpuLost", fatal: false, detail });
  }
}

/** "Surprise me" failed: an ordinary error, the page keeps working. */
export class SurpriseError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "error.surprise", fatal: false, detail });
  }
}

/** The worker did not answer a request in time (page/watchdog.js); it is stopped. */
export class EngineStalledError extends ConteurError {
  /**
   * @param {string} task what it was asked: a locale key ("stalled.generate", …)
   * @param {number} seconds how long the page waited without a word from it
   */
  constructor(task, seconds) {
    super(null, { key: "error.engineStalled", params: { task: { key: task } }, detail: `no answer in ${seconds} s` });
  }
}

export class WorkerCrashError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "error.workerCrash", detail });
  }
}

/**
 * @typedef {{name: string, message: string, fatal: boolean, detail: string, key: string,
 *            params: object, field?: string, pyshell?: object}} ErrorMessage
 * An error as it crosses the worker boundary. message: English; key, params: the
 * same text in the locales ("" when it has none); field: the form field at fault
 * (StoryInputError); pyshell: pyshell's {code, params, message} when pyshell reported
 * it (shared/pyshell-codes.js shows its code).
 */

/**
 * A plain object for postMessage: any thrown value becomes an ErrorMessage.
 * Unknown errors keep their own text in `detail` and get a generic message.
 * @param {unknown} error
 * @param {boolean} [fatal] for errors that are not ConteurErrors
 * @returns {ErrorMessage}
 */
export function toMessage(error, fatal = true) {
  if (error instanceof ConteurError) {
    const { name, message, detail, key, params } = error;
    const posted = { name, message, fatal: error.fatal, detail, key, params };
    if (error.field !== undefined) posted.field = error.field;
    if (error.pyshell !== undefined) posted.pyshell = error.pyshell;
    return posted;
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const key = fatal ? "error.unexpectedFatal" : "error.unexpected";
  return { name: "UnexpectedError", message: translate("en", key), fatal, detail: text, key, params: {} };
}

/**
 * What to show for a posted error: its message in the interface language when it has
 * a key, else its English text.
 * @param {ErrorMessage} error
 * @returns {import("./i18n.js").Message | string}
 */
export function errorText(error) {
  return error.key ? { key: error.key, params: error.params } : error.message;
}
