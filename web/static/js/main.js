// The page's entry point: wires the form, the story view and the status line to the
// engine (a module worker). The main thread only renders; see worker.js for the work.
//
// Test hook: `window.conteur` exposes the state, the backend (with `head`: what its
// output head keeps, {kept, of, rule}), and the last story's token ids and
// first-step candidates, so end-to-end tests can compare the page with CPython
// (tests/e2e/), plus the interface language (`language`) and the read-aloud
// button's state (`reading`).
//
// Texts are messages ({key, params}, i18n.js) shown in the interface language;
// the worker's events carry keys too, and pyshell's errors and notices carry codes,
// which pyshell-codes.js turns into messages.

import { Engine } from "./engine.js";
import { StoryForm } from "./form.js";
import { decimal, language, localize, msg, onLanguageChange, render, setUpLanguage } from "./i18n.js";
import { headRuleName } from "./model-graphs.js";
import { fieldError, pyshellMessage } from "./pyshell-codes.js";
import { ReadAloud } from "./read-aloud.js";
import { DECODE_TOKENS, PREFILL_TOKENS } from "./speed-check.js";
import { ProgressView } from "./progress.js";
import { forgetVerdict, rememberedFailures, rememberVerdict } from "./verdicts.js";
import { preparePwa } from "./pwa.js";
import { StatusView } from "./status.js";
import { StoryView } from "./story.js";
import { setUpTheme } from "./theme.js";

const BACKEND_KEY = "conteur-backend";
const BACKENDS = ["auto", "webgpu", "wasm"];
const SPEED_INTERVAL_MS = 250;
const HEAD_RULES = { "story shortlist": "head.rule.storyShortlist" }; // conteur.json rule → locale key

const doc = document;
setUpLanguage(doc); // before any view writes a text
const status = new StatusView(doc);
const progress = new ProgressView(doc);
const story = new StoryView(doc);
const form = new StoryForm(doc);
const readAloud = new ReadAloud(doc);
const buttons = {
  generate: doc.getElementById("generate"),
  stop: doc.getElementById("stop"),
  surprise: doc.getElementById("surprise"),
};
const toastBox = doc.getElementById("toast");
const speedControls = {
  button: doc.querySelector('[data-testid="speed-check"]'),
  result: doc.querySelector('[data-testid="speed-result"]'),
  copy: doc.querySelector('[data-testid="speed-copy"]'),
};

const hook = {
  state: "loading",
  backend: null,
  model: null,
  timings: null,
  offline: null,
  last: null,
  selfCheck: null, // the WebGPU self-check's verdict: {status, problems, seconds, steps, key}
  speed: null, // the last speed check's result
  language: language(), // the interface language: en or fr
  reading: null, // read aloud: {state, language, voice}
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
let storyLanguage = "en"; // the language of the story being written
let backendNotice = ""; // why the backend is not the expected one (a message), if it is not
let backendDescribed = null; // the badge's description of the backend (a message)

function setState(state, message, options) {
  status.set(state, message, options);
  hook.state = state;
  if (state === "error") hook.errors.push(render(message));
  updateButtons();
}

function updateButtons() {
  buttons.generate.disabled = !ready || generating;
  buttons.stop.disabled = (!generating || stopping) && !readAloud.speaking; // Stop also ends a reading
  buttons.surprise.disabled = !pythonReady;
  speedControls.button.disabled = !ready || generating;
  form.setBusy(generating);
}

let toastTimer = 0;
function toast(message) {
  toastBox.textContent = render(message);
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
    if (!ready) setState("loading", workerMessage(detail));
  });
  engine.addEventListener("progress", ({ detail }) => progress.update(detail));
  engine.addEventListener("backend", ({ detail }) => {
    // detailMessage / noticeMessage: the same texts as keys, for the interface language.
    const described = detail.detailMessage ?? detail.detail;
    backendDescribed = described;
    // Why WASM runs, in two words: no usable WebGPU, or only a software adapter (skipped).
    const softwareOnly = detail.noticeMessage?.key === "notice.softwareOnly";
    const why = softwareOnly ? "backend.softwareSkipped" : "backend.withoutWebgpu";
    const shown = detail.notice && detail.name === "wasm" ? msg(why, { detail: described }) : described;
    backendNotice = detail.noticeMessage ?? detail.notice ?? "";
    status.setBackend(detail.name, shown, detail.check);
    hook.backend = { name: detail.name, detail: detail.detail, notice: detail.notice || "", check: detail.check, head: detail.head };
    showHead(detail.head);
    if (detail.notice) toast(backendNotice);
  });
  engine.addEventListener("self-check", ({ detail }) => {
    hook.selfCheck = { status: detail.status, problems: detail.problems, seconds: detail.seconds, steps: detail.steps, key: detail.key };
    if (detail.problems.length) console.warn(`[conteur] WebGPU self-check ${detail.status}: ${detail.problems.join("; ")}`);
    if (detail.status === "failed") rememberVerdict(detail.key, "failed");
    else if (detail.status === "passed") forgetVerdict(detail.key);
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
    localize(doc.getElementById("model-name"), detail.model.name);
    const notice = hook.backend?.notice ? backendNotice : "";
    setState("ready", msg("status.loaded", { seconds: decimal(hook.timings.page_s, 1), notice }));
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
  engine.addEventListener("notice", ({ detail }) => {
    toast(pyshellMessage({ code: detail.code, params: detail.params, message: detail.text }, "notice.unknown"));
  });
  engine.addEventListener("done", ({ detail }) => finishStory(detail.result));
  engine.addEventListener("input-error", ({ detail }) => {
    endGeneration();
    setState("error", form.showError(detail.field, detail));
  });
  engine.addEventListener("error", ({ detail }) => {
    const error = detail.error;
    if (error.detail) console.warn(`[conteur] ${error.name}: ${error.detail}`);
    if (generating) endGeneration();
    if (error.fatal) {
      ready = false;
      progress.done();
    }
    const shown = error.pyshell ? pyshellMessage(error.pyshell) : error.key ? msg(error.key, error.params) : error.message;
    setState("error", shown, { fatal: error.fatal });
  });
}

/** What the output head keeps on this backend: the CPU graph writes from a shortlist. */
function showHead(head) {
  const element = doc.querySelector('[data-testid="model-head"]');
  element.dataset.kept = String(head.kept);
  element.dataset.of = String(head.of);
  element.hidden = false;
  localize(element, headMessage(head));
}

function headMessage(head) {
  const rule = headRuleName(head);
  if (rule === "full") return msg("head.full", { of: head.of });
  // A rule the locales know is translated; another exporter's rule shows as written.
  const named = HEAD_RULES[rule] ? msg(HEAD_RULES[rule]) : rule;
  return msg("head.kept", { kept: head.kept, of: head.of, rule: named });
}

/** A worker event's text: its key in the interface language, else its English `message`. */
function workerMessage(detail) {
  return detail.key ? msg(detail.key, detail.params) : detail.message;
}

function speedText(tokens, tokensPerSecond) {
  const count = msg("count.tokens", { count: tokens });
  return tokensPerSecond > 0 ? msg("speed.rate", { rate: decimal(tokensPerSecond, 1), tokens: count }) : count;
}

function startStory() {
  if (begun) return;
  begun = true;
  story.begin(storyLanguage);
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
  const rate = s.decode_tokens_per_second > 0 ? msg("status.summaryRate", { rate: decimal(s.decode_tokens_per_second, 1) }) : "";
  const summary = msg("status.summary", { tokens: msg("count.tokens", { count: s.generated_tokens }), rate, seed: result.seed });
  if (result.stop_reason === "cancelled") {
    setState("stopped", msg("status.stopped", { summary }));
  } else {
    const why = msg(result.stop_reason === "max_tokens" ? "status.why.max_tokens" : "status.why.eos");
    setState("ready", msg("status.finished", { why, summary }));
  }
  readAloud.setStory(begun ? story.text() : "", result.request?.language ?? storyLanguage);
}

// --- controls ------------------------------------------------------------------------

function generate() {
  if (!ready || generating) return;
  const { request, settings } = form.read();
  readAloud.clear(); // a new story stops the reading
  storyLanguage = request.language;
  form.clearErrors();
  pendingSettings = settings;
  generating = true;
  stopping = false;
  stopClickedAt = 0;
  begun = false;
  hook.streamed = 0;
  lastSpeedAt = 0;
  status.setSpeed("");
  setState("generating", msg("status.writing"));
  engine.generate(request, settings);
}

function stop() {
  if (readAloud.speaking) readAloud.stop();
  if (!generating || stopping) return;
  stopping = true;
  stopClickedAt = performance.now();
  engine.stop();
  status.set("generating", msg("status.stopping"));
  updateButtons();
}

async function surprise() {
  if (!pythonReady) return;
  const idea = await engine.surprise(doc.getElementById("language").value, form.length());
  if (idea.error) toast(fieldError(idea.error.field, idea.error));
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

async function speedCheck() {
  if (!ready || generating) return;
  const { button, result, copy } = speedControls;
  button.disabled = true;
  copy.disabled = true;
  result.dataset.state = "running";
  localize(result, msg("speedCheck.running", { prompt: PREFILL_TOKENS, tokens: DECODE_TOKENS }));
  const measured = await engine.speedCheck();
  button.disabled = false;
  if (measured.error) {
    result.dataset.state = "error";
    localize(result, msg("speedCheck.failed", { error: measured.error }));
    return;
  }
  hook.speed = measured;
  result.dataset.state = "done";
  result.dataset.json = JSON.stringify(measured);
  localize(result, msg("speedCheck.result", {
    backend: measured.backend,
    adapter: backendDescribed ?? measured.adapter, // as the badge shows it, in the interface language
    prefill: decimal(measured.prefill_tokens_per_second),
    decode: decimal(measured.decode_tokens_per_second),
  }));
  copy.disabled = false;
}

async function copySpeed() {
  const json = speedControls.result.dataset.json;
  if (!json) return;
  try {
    await navigator.clipboard.writeText(json);
    toast(msg("speedCheck.copied"));
  } catch {
    toast(msg("speedCheck.copyBlocked", { json }));
  }
}

function wireControls() {
  speedControls.button.addEventListener("click", speedCheck);
  speedControls.copy.addEventListener("click", copySpeed);
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
    } else if (event.key === "Escape" && (generating || readAloud.speaking)) {
      stop();
    }
  });
  doc.addEventListener("story-action", (event) => toast(event.detail));
  readAloud.addEventListener("change", ({ detail }) => {
    hook.reading = detail;
    updateButtons();
  });
  readAloud.addEventListener("error", ({ detail }) => toast(detail));
  hook.reading = readAloud.describe();
  addEventListener("pagehide", () => readAloud.stop()); // leaving the page ends the reading
  onLanguageChange((lang) => {
    hook.language = lang;
  });
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
  setState("loading", msg("status.starting"));
  const pwa = await preparePwa({
    onProgress: (p) => progress.update(p),
    onPhase: (message) => setState("loading", message),
    onUpdate: () => toast(msg("pwa.update")),
  });
  hook.offline = pwa.offline;
  localize(doc.getElementById("offline-state"), msg(pwa.offline ? "offline.yes" : "offline.no"));
  if (pwa.note) toast(pwa.note);
  engine = new Engine(new URL("./worker.js", import.meta.url));
  listen(engine);
  setState("loading", msg("phase.python"));
  engine.start({
    backend: backendPreference(),
    explicit: BACKENDS.includes(new URLSearchParams(location.search).get("backend")),
    ortVersion: doc.documentElement.dataset.ortVersion,
    failedChecks: rememberedFailures(),
  });
}

boot().catch((error) => {
  console.error(error);
  setState("error", msg("status.bootFailed"), { fatal: true });
});
