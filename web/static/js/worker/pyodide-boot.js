// Boot Pyodide from our own origin and import pyshell's browser entry points.
//
// Pyodide installs only what our lock file (py/pyodide-lock.json, written by
// web/build.py) lists: the pyshell wheel. A package that fails to load is only
// a console error inside loadPyodide, so the import is checked afterwards. A
// wrong MIME type for the .wasm makes loadPyodide hang for ever: hence the timeout.
// Given the site's build version, the interpreter starts from the snapshot the first
// visit kept (worker/python-snapshot.js), and a first visit keeps one. The caller
// starts reading that snapshot (startReadingSnapshot) before it reads the model's
// files from the same store: read beside the 230 MB data file, the 31 MB took 1.7-1.8 s
// instead of a tenth of that.

import { PythonBootError, PythonPackageError, PythonTimeoutError } from "../shared/errors.js";
import { dropSnapshot, readSnapshot, storeSnapshot } from "./python-snapshot.js";

export const BOOT_TIMEOUT_S = 90;

/**
 * @typedef {{version: string | null, read: Promise<void>,
 *            take: () => Promise<Uint8Array | null>}} SnapshotRead
 * read: settles once the snapshot is read (or known missing), without its bytes;
 * take: the bytes, once: the 31 MB must not outlive Python's start through a
 * promise someone still holds.
 */

/**
 * Start reading `version`'s start-up snapshot; bootPython takes the result.
 * @param {URL} base the site's root URL
 * @param {string | null} version the site's build version (null: no snapshot)
 * @returns {SnapshotRead}
 */
export function startReadingSnapshot(base, version) {
  let bytes = version ? readSnapshot(base, version) : Promise.resolve(null);
  const read = bytes.then(() => undefined);
  const take = () => {
    const taken = bytes ?? Promise.resolve(null);
    bytes = null;
    return taken;
  };
  return { version, read, take };
}

/**
 * Start Python and return `pyshell.browser` (a PyProxy of the module).
 * @param {URL} base the site's root URL
 * @param {{timeoutSeconds?: number, snapshot?: SnapshotRead}} [options] snapshot: what
 *   startReadingSnapshot returned (none: Python starts afresh and keeps no snapshot)
 * @returns {Promise<{pyodide: object, browser: object, seconds: number,
 *   from: "snapshot" | "start"}>} from: whether the interpreter started from a snapshot
 */
export async function bootPython(base, { timeoutSeconds = BOOT_TIMEOUT_S, snapshot = null } = {}) {
  const started = performance.now();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new PythonTimeoutError(timeoutSeconds)), timeoutSeconds * 1000);
  });
  let pyodide, from;
  try {
    const loaded = load(base, snapshot ?? startReadingSnapshot(base, null));
    ({ pyodide, from } = await Promise.race([loaded, timeout]));
  } finally {
    clearTimeout(timer);
  }
  let browser;
  try {
    browser = pyodide.pyimport("pyshell.browser");
  } catch (error) {
    throw new PythonPackageError(String(error?.message ?? error).split("\n").slice(-2).join(" "));
  }
  return { pyodide, browser, seconds: (performance.now() - started) / 1000, from };
}

/** Pyodide with pyshell installed, started from the snapshot when one was kept. */
async function load(base, { version, take }) {
  const folder = new URL("vendor/pyodide/", base).href;
  const options = {
    indexURL: folder,
    lockFileURL: new URL("py/pyodide-lock.json", base).href, // absolute, docs/facts/browser.md
    stdout: (line) => console.log("[python]", line),
    stderr: (line) => console.warn("[python]", line),
  };
  try {
    const { loadPyodide } = await import(folder + "pyodide.mjs");
    let snapshot = await take();
    if (snapshot) {
      try {
        const pending = loadPyodide({ ...options, packages: ["pyshell"], _loadSnapshot: snapshot });
        snapshot = null;
        const pyodide = await pending;
        // Pyodide keeps its options for the page's life: without this the 31 MB it
        // copied into the interpreter's memory would stay alive beside it.
        delete pyodide._api?.config?._loadSnapshot;
        return { pyodide, from: "snapshot" };
      } catch (error) {
        console.warn(`[conteur] Python did not start from its kept snapshot, starting afresh: ${error}`);
        await dropSnapshot(base, version);
      }
    }
    const pyodide = await loadPyodide({ ...options, _makeSnapshot: Boolean(version) });
    if (version) keepSnapshot(pyodide, base, version);
    await pyodide.loadPackage("pyshell", { messageCallback: (line) => console.log("[python]", line) });
    return { pyodide, from: "start" };
  } catch (error) {
    throw new PythonBootError(String(error?.message ?? error));
  }
}

/**
 * Snapshot the interpreter as it is now (started, none of our code in it) and store
 * it in the background: the copy is taken at once, before pyshell is installed.
 */
function keepSnapshot(pyodide, base, version) {
  let bytes;
  try {
    bytes = pyodide.makeMemorySnapshot();
  } catch (error) {
    console.warn(`[conteur] Python's start could not be kept: ${error}`);
    return;
  }
  storeSnapshot(base, version, bytes);
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
