// Start Pyodide once, make it ready for stories, and write a memory snapshot of the
// interpreter as it is then: web/python_start.py runs this at build time, and the page's
// worker starts Python from that snapshot instead of starting it afresh.
//
// "Ready" is what the page would otherwise do on every visit: pyshell installed and
// imported, and pyshell.browser.init run on the model's conteur.json and tokenizer
// pieces (the tokenizer loaded, both languages' story policies built). A snapshot holds
// the interpreter's memory only, not its file system: the page puts pyshell's files
// back from the wheel (js/worker/wheel-files.js).
//
// node web/tools/python-start.mjs <pyodide folder> <output file> <pyshell wheel> <model folder>

import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [folder, output, wheel, model] = process.argv.slice(2);
if (!folder || !output || !wheel || !model) {
  console.error("usage: node web/tools/python-start.mjs <pyodide folder> <output file> <pyshell wheel> <model folder>");
  process.exit(2);
}
const indexURL = folder.endsWith("/") ? folder : `${folder}/`;
const modelDir = model.endsWith("/") ? model : `${model}/`;
// The interpreter's `_` environment variable is the program's path: the one a browser
// gets, not this script's place on the machine that built the site.
process.argv[1] = "./this.program";
const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);
const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true });

// Files go in by path and Python reads them itself: a JS object Python still
// referenced would make the snapshot fail.
pyodide.FS.mkdirTree("/tmp/conteur");
pyodide.FS.writeFile("/tmp/conteur/pyshell.whl", readFileSync(wheel));
pyodide.FS.writeFile("/tmp/conteur/conteur.json", readFileSync(`${modelDir}conteur.json`));
pyodide.FS.writeFile("/tmp/conteur/tokenizer.pieces", readFileSync(`${modelDir}tokenizer.pieces`));
const info = pyodide.runPython(`
import gc, json, shutil, sysconfig, zipfile
zipfile.ZipFile("/tmp/conteur/pyshell.whl").extractall(sysconfig.get_paths()["purelib"])
import pyshell.browser
with open("/tmp/conteur/conteur.json", encoding="utf-8", newline="") as f:
    _info = pyshell.browser.init(f.read(), "/tmp/conteur/tokenizer.pieces")
shutil.rmtree("/tmp/conteur")
del f
gc.collect()
_info`);
if ("error" in JSON.parse(info)) {
  console.error(`pyshell.browser.init refused the model: ${info}`);
  process.exit(1);
}
pyodide.runPython("del _info");
writeFileSync(output, upToTheHeapsEnd(pyodide.makeMemorySnapshot(), pyodide._module));

/**
 * The snapshot without the memory past the heap's end (sbrk's top, in whole 64 KB
 * pages): nothing lives there. How far the memory grew while init ran varies from one
 * build to the next by a whole growth step (37.7 or 45.4 MB for Gemma's page); cut
 * here, the snapshot is 37.8 MB every time. The page grows the memory to the
 * snapshot's size before restoring it (js/worker/pyodide-boot.js), and Python grows it
 * further as it needs.
 * @param {Uint8Array} snapshot a header, then the interpreter's memory
 * @param {object} module the interpreter's Emscripten module
 */
function upToTheHeapsEnd(snapshot, module) {
  const page = 64 * 1024;
  const headerBytes = new DataView(snapshot.buffer, snapshot.byteOffset, 8).getUint32(4, true);
  const used = Math.ceil(module._sbrk(0) / page) * page;
  return snapshot.subarray(0, headerBytes + Math.min(used, snapshot.byteLength - headerBytes));
}
