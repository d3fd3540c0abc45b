// Put pyshell's files back into Pyodide's file system from its wheel.
//
// The interpreter the page starts from the build's snapshot (web/python_start.py) has
// pyshell imported already, but a snapshot holds memory, not files: pyshell reads its
// word lists from its package folder and may import a module lazily. Python's own
// zipfile took about 0.25 s of a start to unpack the 3 MB wheel in Pyodide; here the
// browser inflates it natively (DecompressionStream): 45-55 ms in Node, 0.08-0.10 s in
// the worker on a first visit, beside the model's download.
//
// A wheel is a zip: the central directory at its end lists every entry (name, method,
// CRC-32, sizes, where its local header is); each entry is stored (method 0) or
// deflated (8). The worker checked the wheel's sha256 already; the CRC-32 of each file
// keeps this module honest on its own.

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

/**
 * The files of the zip `bytes`: [{name, bytes}], directories left out.
 *
 * Every entry is inflated at once: one after the other, each inflation's turns of the
 * worker's event loop queued behind the model's download, the 43 files of pyshell's
 * wheel took 0.19-0.27 s of a first visit.
 * @param {Uint8Array} bytes
 * @returns {Promise<{name: string, bytes: Uint8Array}[]>}
 */
export async function zipEntries(bytes) {
  const entries = directory(bytes);
  const contents = await Promise.all(entries.map(({ method, data }) => (method === STORED ? data : inflate(data))));
  return entries.map(({ name, crc, size }, i) => {
    const content = contents[i];
    if (content.byteLength !== size) throw new Error(`${name}: ${content.byteLength} bytes, the zip says ${size}`);
    if (crc32(content) !== crc) throw new Error(`${name}: its CRC-32 is not the one the zip lists`);
    return { name, bytes: content };
  });
}

/**
 * The zip's files as its central directory lists them, each with its packed bytes.
 * @param {Uint8Array} bytes
 * @returns {{name: string, method: number, crc: number, size: number, data: Uint8Array}[]}
 */
function directory(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEndOfDirectory(view);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  const entries = [];
  for (let i = 0; i < count; i += 1) {
    if (view.getUint32(at, true) !== DIRECTORY_ENTRY) throw new Error("not a zip: a damaged central directory");
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const packed = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + skip;
    if (name.endsWith("/")) continue;
    if (view.getUint32(local, true) !== LOCAL_HEADER) throw new Error(`not a zip: no header for ${name}`);
    if (method !== STORED && method !== DEFLATED) throw new Error(`${name}: zip method ${method} is not supported`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    entries.push({ name, method, crc, size, data: bytes.subarray(start, start + packed) });
  }
  return entries;
}

/**
 * Write the wheel's files under `sitePackages` in `FS` (Pyodide's file system).
 * @param {object} FS pyodide.FS
 * @param {string} sitePackages
 * @param {Uint8Array} wheel
 * @returns {Promise<number>} how many files were written
 */
export async function putWheelFiles(FS, sitePackages, wheel) {
  const files = await zipEntries(wheel);
  for (const { name, bytes } of files) {
    const path = `${sitePackages}/${name}`;
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    FS.writeFile(path, bytes);
  }
  return files.length;
}

function findEndOfDirectory(view) {
  // The record is 22 bytes plus a comment of at most 65,535.
  const last = Math.max(0, view.byteLength - 22 - 0xffff);
  for (let at = view.byteLength - 22; at >= last; at -= 1) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) return at;
  }
  throw new Error("not a zip: no end of central directory");
}

let crcTable = null;

/** The zip format's CRC-32 (polynomial 0xEDB88320) of `bytes`. */
function crc32(bytes) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
