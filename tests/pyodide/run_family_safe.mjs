// Run pyshell's family-safe filter under Pyodide in Node: build it, replay steps, time it.
//
//   node tests/pyodide/run_family_safe.mjs --model tokenizer.model --steps steps.json
//
// The page bans the same ids as CPython only if Pyodide's Python computes the same
// filter; tests/test_family_safe_pyodide.py writes steps.json (candidates and the
// chosen token of each step, per language) and compares what this prints (one JSON
// line: check_family_safe.py's report) with CPython's bans.

import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: args } = parseArgs({ options: { model: { type: "string" }, steps: { type: "string" } } });
if (!args.model || !args.steps) {
  console.error("usage: run_family_safe.mjs --model tokenizer.model --steps steps.json");
  process.exit(2);
}

/** Copy a host file into Pyodide's in-memory file system. */
function put(pyodide, hostPath, fsPath) {
  pyodide.FS.mkdirTree(dirname(fsPath));
  pyodide.FS.writeFile(fsPath, readFileSync(hostPath));
}

const { loadPyodide } = await import(
  pathToFileURL(join(ROOT, "node_modules", "pyodide", "pyodide.mjs")).href
);
const pyodide = await loadPyodide({
  indexURL: join(ROOT, "node_modules", "pyodide") + "/",
  stdout: (line) => console.error(line),
  stderr: (line) => console.error(line),
});
// The files the wheel carries (web/wheel.py): the modules and the word lists.
const pyshell = join(ROOT, "pyshell");
for (const name of readdirSync(pyshell)) {
  if (name.endsWith(".py")) put(pyodide, join(pyshell, name), `/conteur/pyshell/${name}`);
}
const lists = join(pyshell, "data", "family_safe");
for (const name of readdirSync(lists)) {
  put(pyodide, join(lists, name), `/conteur/pyshell/data/family_safe/${name}`);
}
put(pyodide, join(ROOT, "tests", "pyodide", "check_family_safe.py"), "/conteur/check_family_safe.py");
const model = resolve(args.model);
const pieces = model.replace(/\.model$/, ".pieces");
put(pyodide, model, "/data/tokenizer.model");
if (existsSync(pieces)) put(pyodide, pieces, "/data/tokenizer.pieces");
put(pyodide, resolve(args.steps), "/data/steps.json");

pyodide.runPython("import sys; sys.path.insert(0, '/conteur')");
const check = pyodide.pyimport("check_family_safe");
console.log(check.main("/data/tokenizer.model", "/data/steps.json"));
