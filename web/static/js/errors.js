// Named errors with messages that tell the reader what to do (never a raw stack trace).
// Used on both sides of the worker boundary: the worker sends `toMessage(error)`,
// the page shows `key` + `params` in the interface language (i18n.js), or `message`
// (English) for an error without a key.

import { translate } from "./i18n.js";

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
   *   pyshell reported it with a code (pyshell-codes.js)
   */
  constructor(detail, reason = detail) {
    super(null, { key: "error.modelConfig", params: { detail: reason }, detail });
  }
}

export class SessionError extends ConteurError {
  /** @param {string} backend @param {string} detail */
  constructor(backend, detail) {
    const where = { key: backend === "webgpu" ? "error.where.webgpu" : "error.where.wasm" };
    const memory = /memory|alloc|OOM/i.test(detail);
    super(null, { key: memory ? "error.sessionMemory" : "error.session", params: { where }, detail });
  }
}

export class GenerationError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "error.generation", fatal: false, detail });
  }
}

export class WorkerCrashError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(null, { key: "error.workerCrash", detail });
  }
}

/**
 * A plain object for postMessage: any thrown value becomes
 * {name, message, fatal, detail, key, params}.
 * Unknown errors keep their own text in `detail` and get a generic message.
 * @param {unknown} error
 * @param {boolean} [fatal] for errors that are not ConteurErrors
 * @returns {{name: string, message: string, fatal: boolean, detail: string, key: string, params: object}}
 */
export function toMessage(error, fatal = true) {
  if (error instanceof ConteurError) {
    const { name, message, detail, key, params } = error;
    return { name, message, fatal: error.fatal, detail, key, params };
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const key = fatal ? "error.unexpectedFatal" : "error.unexpected";
  return { name: "UnexpectedError", message: translate("en", key), fatal, detail: text, key, params: {} };
}
