// Boot Pyodide from our own origin and import pyshell's browser entry points.
//
// Pyodide installs only what our lock file (py/pyodide-lock.json, written by
// web/build.py) lists: the pyshell wheel. A package that fails to load is only
// a console error inside loadPyodide, so the import is checked afterwards. A
// wrong MIME type for the .wasm makes loadPyodide hang for ever: hence the timeout.

import { PythonBootError, PythonPackageError, PythonTimeoutError } from "../shared/errors.js";

export const BOOT_TIMEOUT_S = 90;

/**
 * Start Python and return `pyshell.browser` (a PyProxy of the module).
 * @param {URL} base the site's root URL
 * @param {{timeoutSeconds?: number}} [options]
 * @returns {Promise<{pyodide: object, browser: object, seconds: number}>}
 */
export async function bootPython(base, { timeoutSeconds = BOOT_TIMEOUT_S } = {}) {
  const started = performance.now();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new PythonTimeoutError(timeoutSeconds)), timeoutSeconds * 1000);
  });
  let pyodide;
  try {
    pyodide = await Promise.race([load(base), timeout]);
  } finally {
    clearTimeout(timer);
  }
  let browser;
  try {
    browser = pyodide.pyimport("pyshell.browser");
  } catch (error) {
    throw new PythonPackageError(String(error?.message ?? error).split("\n").slice(-2).join(" "));
  }
  return { pyodide, browser, seconds: (performance.now() - started) / 1000 };
}

async function load(base) {
  const folder = new URL("vendor/pyodide/", base).href;
  try {
    const { loadPyodide } = await import(folder + "pyodide.mjs");
    return await loadPyodide({
      indexURL: folder,
      lockFileURL: new URL("py/pyodide-lock.json", base).href, // absolute, docs/facts/browser.md
      packages: ["pyshell"],
      stdout: (line) => console.log("[python]", line),
      stderr: (line) => console.warn("[python]", line),
    });
  } catch (error) {
    throw new PythonBootError(String(error?.message ?? error));
  }
}

/**
 * Write a file into Python's in-memory file system.
 * @param {object} pyodide
 * @param {string} path absolute path in Pyodide's FS
 * @param {Uint8Array} bytes
 */
export function writeFile(pyodide, path, bytes) {
  pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
  pyodide.FS.writeFile(path, bytes);
}
