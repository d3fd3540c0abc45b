// Run pyshell's tokenizer under Pyodide in Node and check it against expected ids.
//
//   node tests/pyodide/run_tokenizer.mjs --model tokenizer.model --cases cases.json
//
// The page runs the same Python in Pyodide, where there is no sentencepiece
// (docs/facts/tokenizer.md); this runs the real thing offline from the npm package.
// cases.json: {"cases": [{"utf8", "ids", "decoded"}], "speed_text", "speed_ids"},
// where utf8 is the base64 of a text's UTF-8 (lone surrogates kept) and ids and
// decoded come from CPython's sentencepiece. The model's sibling
// tokenizer.pieces, when present, is copied too, so both load paths are
// measured. Prints one JSON line: the report of check_tokenizer.py's main().

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bootPyodide, put, putPyshell, ROOT } from "./pyodide-host.mjs";

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    cases: { type: "string" },
  },
});
if (!args.model || !args.cases) {
  console.error("usage: run_tokenizer.mjs --model tokenizer.model --cases cases.json");
  process.exit(2);
}

const started = performance.now();
const pyodide = await bootPyodide();
const bootSeconds = (performance.now() - started) / 1000;

putPyshell(pyodide);
put(pyodide, join(ROOT, "tests", "pyodide", "check_tokenizer.py"), "/conteur/check_tokenizer.py");

const model = resolve(args.model);
const pieces = model.replace(/\.model$/, ".pieces");
put(pyodide, model, "/data/plain/tokenizer.model");
put(pyodide, model, "/data/cached/tokenizer.model");
if (existsSync(pieces)) put(pyodide, pieces, "/data/cached/tokenizer.pieces");
put(pyodide, resolve(args.cases), "/data/cases.json");

pyodide.runPython("import sys; sys.path.insert(0, '/conteur')");
const check = pyodide.pyimport("check_tokenizer");
const report = JSON.parse(check.main("/data", bootSeconds));
console.log(JSON.stringify(report));
