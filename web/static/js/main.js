// The page's entry point: wires the form, the story view and the status line to the
// engine (a module worker). The main thread only renders; see worker.js for the work.
//
// Test hook: `window.conteur` exposes the state, the backend, and the last story's
// token ids and first-step candidates, so end-to-end tests can compare the page
// with CPython (tests/e2e/).

import { Engine } from "./engine.js";
import { StoryForm } from "./form.js";
import { ProgressView } from "./progress.js";
import { preparePwa } from "./pwa.js";
import { StatusView } from "./status.js";
import { StoryView } from "./story.js";
import { setUpTheme } from "./theme.js";

const BACKEND_KEY = "conteur-backend";
const BACKENDS = ["auto", "webgpu", "wasm"];
const SPEED_INTERVAL_MS = 250;

const doc = document;
const status = new StatusView(doc);
const progress = new ProgressView(doc);
const story = new StoryView(doc);
const form = new StoryForm(doc);
const buttons = {
  generate: doc.getElementById("generate"),
  stop: doc.getElementById("stop"),
  surprise: doc.getElementById("surprise"),
};
const toastBox = doc.getElementById("toast");

const hook = {
  state: "loading",
  backend: null,
  model: null,
  timings: null,
  offline: null,
  last: null,
  streamed: 0, // tokens shown so far in the current story
  stories: 0,
  errors: [],
  /** Memory now: this page's JS heap, and the worker's Python heap. */
  memory: () => measureMemory(),
};
window.conteur = hook;

let engine = null;
let ready = false;
let pythonReady = false;
let generating = false;
let stopping = false;
let begun = false;
let lastSpeedAt = 0;
let pendingSettings = null;
let stopClickedAt = 0;

function setState(state, message, options) {
  status.set(state, message, options);
  hook.state = state;
  if (state === "error") hook.errors.push(message);
  updateButtons();
}

function updateButtons() {
  buttons.generate.disabled = !ready || generating;
  buttons.stop.disabled = !generating || stopping;
  buttons.surprise.disabled = !pythonReady;
  form.setBusy(generating);
}

let toastTimer = 0;
function toast(message) {
  toastBox.textContent = message;
  toastBox.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastBox.hidden = true; }, 6000);
}

function backendPreference() {
  const asked = new URLSearchParams(location.search).get("backend");
  if (BACKENDS.includes(asked)) return asked;
  try {
    const saved = localStorage.getItem(BACKEND_KEY);
    return BACKENDS.includes(saved) ? saved : "auto";
  } catch {
    return "auto";
  }
}

// --- engine events -----------------------------------------------------------------

function listen(engine) {
  engine.addEventListener("phase", ({ detail }) => {
    if (!ready) setState("loading", detail.message);
  });
  engine.addEventListener("progress", ({ detail }) => progress.update(detail));
  engine.addEventListener("backend", ({ detail }) => {
    const shown = detail.notice && detail.name === "wasm" ? `${detail.detail}, WebGPU unavailable` : detail.detail;
    status.setBackend(detail.name, shown);
    hook.backend = { name: detail.name, detail: detail.detail, notice: detail.notice || "" };
    if (detail.notice) toast(detail.notice);
  });
  engine.addEventListener("python-ready", () => {
    pythonReady = true;
    updateButtons();
  });
  engine.addEventListener("ready", ({ detail }) => {
    ready = true;
    hook.model = detail.model;
    hook.timings = { ...detail.timings, page_s: performance.now() / 1000 }; // since navigation
    progress.done();
    doc.getElementById("model-name").textContent = detail.model.name;
    const notice = hook.backend?.notice ? ` ${hook.backend.notice}` : "";
    setState("ready", `Loaded in ${hook.timings.page_s.toFixed(1)} s. Describe a story, or press Surprise me.${notice}`);
  });
  engine.addEventListener("prompt", ({ detail }) => {
    startStory();
    story.setOpening(detail.text);
  });
  engine.addEventListener("token", ({ detail }) => {
    startStory();
    story.append(detail.text);
    if (detail.index) hook.streamed = detail.index;
    const now = performance.now();
    if (now - lastSpeedAt > SPEED_INTERVAL_MS) {
      lastSpeedAt = now;
      status.setSpeed(speedText(detail.index, detail.tokensPerSecond));
    }
  });
  engine.addEventListener("notice", ({ detail }) => toast(detail.text));
  engine.addEventListener("done", ({ detail }) => finishStory(detail.result));
  engine.addEventListener("input-error", ({ detail }) => {
    endGeneration();
    setState("error", form.showError(detail.field, detail.message));
  });
  engine.addEventListener("error", ({ detail }) => {
    const error = detail.error;
    if (error.detail) console.warn(`[conteur] ${error.name}: ${error.detail}`);
    if (generating) endGeneration();
    if (error.fatal) {
      ready = false;
      progress.done();
    }
    setState("error", error.message, { fatal: error.fatal });
  });
}

function speedText(tokens, tokensPerSecond) {
  const rate = tokensPerSecond > 0 ? `${tokensPerSecond.toFixed(1)} tokens/s · ` : "";
  return `${rate}${tokens} token${tokens === 1 ? "" : "s"}`;
}

function startStory() {
  if (begun) return;
  begun = true;
  story.begin();
}

function endGeneration() {
  generating = false;
  stopping = false;
  if (begun) story.end();
  updateButtons();
}

function finishStory(result) {
  if (stopClickedAt) result.stop_ms = performance.now() - stopClickedAt;
  stopClickedAt = 0;
  endGeneration();
  hook.last = result;
  hook.stories += 1;
  if (pendingSettings) form.saveSettings(pendingSettings);
  const s = result.stats;
  status.setSpeed(speedText(s.generated_tokens, s.decode_tokens_per_second));
  const rate = s.decode_tokens_per_second > 0 ? ` at ${s.decode_tokens_per_second.toFixed(1)} tokens/s` : "";
  const summary = `${s.generated_tokens} tokens${rate}; seed ${result.seed}`;
  if (result.stop_reason === "cancelled") {
    setState("stopped", `Stopped after ${summary}. Write another whenever you like.`);
  } else {
    const why = result.stop_reason === "max_tokens" ? "reached the length limit" : "the story ended";
    setState("ready", `Finished (${why}): ${summary}.`);
  }
}

// --- controls ------------------------------------------------------------------------

function generate() {
  if (!ready || generating) return;
  const { request, settings } = form.read();
  form.clearErrors();
  pendingSettings = settings;
  generating = true;
  stopping = false;
  stopClickedAt = 0;
  begun = false;
  hook.streamed = 0;
  lastSpeedAt = 0;
  status.setSpeed("");
  setState("generating", "Writing your story…");
  engine.generate(request, settings);
}

function stop() {
  if (!generating || stopping) return;
  stopping = true;
  stopClickedAt = performance.now();
  engine.stop();
  status.set("generating", "Stopping…");
  updateButtons();
}

async function surprise() {
  if (!pythonReady) return;
  const idea = await engine.surprise(doc.getElementById("language").value, form.length());
  if (idea.error) toast(idea.error.message);
  else form.fill(idea);
}

async function measureMemory() {
  const result = { js_heap_bytes: performance.memory?.usedJSHeapSize ?? null, agent_bytes: null };
  if (globalThis.crossOriginIsolated && performance.measureUserAgentSpecificMemory) {
    try {
      result.agent_bytes = (await performance.measureUserAgentSpecificMemory()).bytes;
    } catch {
      // Not allowed here: the other figures remain.
    }
  }
  if (engine) Object.assign(result, await engine.memory());
  return result;
}

function wireControls() {
  form.form.addEventListener("submit", (event) => {
    event.preventDefault();
    generate();
  });
  buttons.stop.addEventListener("click", stop);
  buttons.surprise.addEventListener("click", surprise);
  doc.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      generate();
    } else if (event.key === "Escape" && generating) {
      stop();
    }
  });
  doc.addEventListener("story-action", (event) => toast(event.detail));
  const choice = form.backendChoice;
  choice.value = backendPreference();
  choice.addEventListener("change", () => {
    try {
      localStorage.setItem(BACKEND_KEY, choice.value);
    } catch {
      // Storage blocked: the URL carries the choice instead.
    }
    const url = new URL(location.href);
    url.searchParams.set("backend", choice.value);
    location.replace(url);
  });
}

// --- start-up ----------------------------------------------------------------------

async function boot() {
  setUpTheme(doc);
  wireControls();
  doc.getElementById("version").textContent = doc.documentElement.dataset.version;
  setState("loading", "Starting…");
  const pwa = await preparePwa({
    onProgress: (p) => progress.update(p),
    onPhase: (message) => setState("loading", message),
    onUpdate: () => toast("A new version of Conteur is installed: reload the page to use it."),
  });
  hook.offline = pwa.offline;
  doc.getElementById("offline-state").textContent = pwa.offline ? "works offline" : "online only";
  if (pwa.note) toast(pwa.note);
  engine = new Engine(new URL("./worker.js", import.meta.url));
  listen(engine);
  setState("loading", "Starting Python and fetching the model…");
  engine.start({ backend: backendPreference() });
}

boot().catch((error) => {
  console.error(error);
  setState("error", "Conteur could not start in this browser. Reload the page; if it keeps failing, try an up-to-date Chrome, Edge or Firefox.", { fatal: true });
});
