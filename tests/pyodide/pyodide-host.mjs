// Pyodide in Node for the tests: the npm package's core, offline, and a way to copy
// host files into its in-memory file system (the page gets the same files from its
// wheel, web/wheel.py).

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Copy a host file into Pyodide's in-memory file system. */
export function put(pyodide, hostPath, fsPath) {
  pyodide.FS.mkdirTree(dirname(fsPath));
  pyodide.FS.writeFile(fsPath, readFileSync(hostPath));
}

/** Pyodide from node_modules, its output on stderr (stdout carries the report). */
export async function bootPyodide() {
  const { loadPyodide } = await import(pathToFileURL(join(ROOT, "node_modules", "pyodide", "pyodide.mjs")).href);
  return loadPyodide({
    indexURL: join(ROOT, "node_modules", "pyodide") + "/",
    stdout: (line) => console.error(line),
    stderr: (line) => console.error(line),
  });
}

/** pyshell's modules under /conteur/pyshell (the word lists are the caller's to add). */
export function putPyshell(pyodide) {
  const pyshell = join(ROOT, "pyshell");
  for (const name of readdirSync(pyshell)) {
    if (name.endsWith(".py")) put(pyodide, join(pyshell, name), `/conteur/pyshell/${name}`);
  }
}
