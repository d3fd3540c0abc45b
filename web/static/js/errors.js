// Named errors with messages that tell the reader what to do (never a raw stack trace).
// Used on both sides of the worker boundary: the worker sends `toMessage(error)`,
// the page shows `message`.

/** Base class: `fatal` errors leave the page unable to write stories until a reload. */
export class ConteurError extends Error {
  /**
   * @param {string} message what happened and what to do, for the reader
   * @param {{fatal?: boolean, detail?: string}} [options]
   */
  constructor(message, { fatal = true, detail = "" } = {}) {
    super(message);
    this.name = new.target.name;
    this.fatal = fatal;
    this.detail = detail;
  }
}

export class PythonBootError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super("Python could not start in this page. Reload it; if this keeps happening, close " +
      "other tabs (the browser may be short of memory).", { detail });
  }
}

export class PythonTimeoutError extends ConteurError {
  /** @param {number} seconds */
  constructor(seconds) {
    super(`Python did not start within ${seconds} seconds. Reload the page; a busy or ` +
      "low-memory device can be this slow the first time.");
  }
}

export class PythonPackageError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super("The story engine (the pyshell Python package) did not load: this copy of the site " +
      "is incomplete. If you host it, rebuild it with `python -m web.build`.", { detail });
  }
}

export class ModelFileMissingError extends ConteurError {
  /** @param {string} file @param {number} status */
  constructor(file, status) {
    super(`The model file "${file}" is missing from this site (HTTP ${status}). If you host ` +
      "Conteur, rebuild the site with `python -m web.build`.");
    this.file = file;
  }
}

export class ModelFileCorruptError extends ConteurError {
  /** @param {string} file @param {string} why */
  constructor(file, why) {
    super(`The model file "${file}" is damaged (${why}). Reload the page to download it again; ` +
      "if that does not help, the site needs rebuilding.");
    this.file = file;
  }
}

export class DownloadError extends ConteurError {
  /** @param {string} file @param {string} detail */
  constructor(file, detail) {
    super(`Downloading "${file}" failed: check your connection and reload the page. ` +
      "After one complete visit Conteur works offline.", { detail });
    this.file = file;
  }
}

export class ModelConfigError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super(`The model's description (conteur.json) is not usable: ${detail}. Re-export the ` +
      "model and rebuild the site.", { detail });
  }
}

export class SessionError extends ConteurError {
  /** @param {string} backend @param {string} detail */
  constructor(backend, detail) {
    const where = backend === "webgpu" ? "the graphics card (WebGPU)" : "the CPU (WebAssembly)";
    const memory = /memory|alloc|OOM/i.test(detail);
    super(memory
      ? `The device ran out of memory loading the model on ${where}. Close other tabs and reload.`
      : `The model could not be loaded on ${where}. Reload the page, or choose another ` +
        "\"Run on\" option in Advanced settings.", { detail });
  }
}

export class GenerationError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super("Writing the story failed. Try again; if it keeps failing, reload the page.",
      { fatal: false, detail });
  }
}

export class WorkerCrashError extends ConteurError {
  /** @param {string} detail */
  constructor(detail) {
    super("The story engine stopped unexpectedly. Reload the page to start it again.", { detail });
  }
}

/**
 * A plain object for postMessage: any thrown value becomes {name, message, fatal, detail}.
 * Unknown errors keep their own text in `detail` and get a generic message.
 * @param {unknown} error
 * @param {boolean} [fatal] for errors that are not ConteurErrors
 * @returns {{name: string, message: string, fatal: boolean, detail: string}}
 */
export function toMessage(error, fatal = true) {
  if (error instanceof ConteurError) {
    return { name: error.name, message: error.message, fatal: error.fatal, detail: error.detail };
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    name: "UnexpectedError",
    message: fatal
      ? "Something went wrong while starting Conteur. Reload the page."
      : "Something went wrong. Try again; if it keeps failing, reload the page.",
    fatal,
    detail: text,
  };
}
