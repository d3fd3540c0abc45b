// Run pyshell's family-safe filter under Pyodide in Node: build it, replay steps, time it.
//
//   node tests/pyodide/run_family_safe.mjs --model tokenizer.model --steps steps.json
//
// The page bans the same ids as CPython only if Pyodide's Python computes the same
// filter; tests/test_family_safe_pyodide.py writes steps.json (candidates and the
// chosen token of each step, per language) and compares what this prints (one JSON
// line: check_family_safe.py's report) with CPython's bans.

import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bootPyodide, put, putPyshell, ROOT } from "./pyodide-host.mjs";

const { values: args } = parseArgs({ options: { model: { type: "string" }, steps: { type: "string" } } });
if (!args.model || !args.steps) {
  console.error("usage: run_family_safe.mjs --model tokenizer.model --steps steps.json");
  process.exit(2);
}

const pyodide = await bootPyodide();
// The files the wheel carries (web/wheel.py): the modules and the word lists.
putPyshell(pyodide);
for (const folder of ["family_safe", "known_words"]) {
  const lists = join(ROOT, "pyshell", "data", folder);
  for (const name of readdirSync(lists)) {
    put(pyodide, join(lists, name), `/conteur/pyshell/data/${folder}/${name}`);
  }
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
