// Start Pyodide once and write a memory snapshot of the interpreter as it is then
// (started, none of our code in it): web/python_start.py runs this at build time, and
// the page's worker starts Python from that snapshot instead of starting it afresh.
//
// node web/tools/python-start.mjs <pyodide folder> <output file>

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [folder, output] = process.argv.slice(2);
if (!folder || !output) {
  console.error("usage: node web/tools/python-start.mjs <pyodide folder> <output file>");
  process.exit(2);
}
const indexURL = folder.endsWith("/") ? folder : `${folder}/`;
// The interpreter's `_` environment variable is the program's path: the one a browser
// gets, not this script's place on the machine that built the site.
process.argv[1] = "./this.program";
const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);
const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true });
writeFileSync(output, pyodide.makeMemorySnapshot());
