// The page's entry point: wires the form, the story view and the status line to the
// worker (worker/main.js, through page/worker-client.js). The main thread only
// renders; the messages both ways are shared/protocol.js's.
//
// Texts are messages ({key, params}, shared/i18n.js) shown in the interface language;
// the worker's events carry keys too, and pyshell's errors and notices carry codes,
// which shared/pyshell-codes.js turns into messages. `window.conteur` (page/test-hook.js) lets end-to-end tests
// read the page's state.
//
// No dead ends: the worker client's watchdog (page/watchdog.js) ends any request the
// worker leaves unanswered, and a fatal error offers a reload; every story that showed
// text is kept under "My stories" (page/story-library.js), finished, stopped or cut
// short; a WebGPU failure mid-story makes the worker write the story again on WASM
// (a `restart` event); a device that reports too little memory is asked first
// (page/memory-check.js).

import { errorText } from "../shared/errors.js";
import { decimal, language, localize, msg, onLanguageChange, render, setUpLanguage } from "../shared/i18n.js";
import { EVENT, REPLY } from "../shared/protocol.js";
import { backendPreference, urlPreference, wireBackendChoice } from "./backend-preference.js";
import { BackendView } from "./backend-view.js";
import { StoryForm } from "./form.js";
import { askInline } from "./inline-confirm.js";
import { acceptLowMemory, lowMemoryAccepted, memoryShortfall } from "./memory-check.js";
import { MyStoriesView } from "./my-stories-view.js";
import { ProgressView } from "./progress-view.js";
import { Pwa } from "./pwa.js";
import { fieldError, pyshellMessage } from "../shared/pyshell-codes.js";
import { ReadAloud } from "./read-aloud.js";
import { forgetVerdict, rememberedFailures, rememberedPending, rememberVerdict } from "./self-check-verdicts.js";
import { SpeedCheckPanel } from "./speed-check-panel.js";
import { StatusView } from "./status-view.js";
import { StorageView } from "./storage-view.js";
import { finishedStory, interruptedStory, StoryLibrary } from "./story-library.js";
import { withSeed } from "./story-seed.js";
import { StoryView } from "./story-view.js";
import { createTestHook, measureMemory } from "./test-hook.js";
import { setUpTheme } from "./theme.js";
import { Toast } from "./toast.js";
import { UpdateBanner } from "./update-banner.js";
import { STOP_LIMIT_MS } from "./watchdog.js";
import { WorkerClient } from "./worker-client.js";

const SPEED_INTERVAL_MS = 250; // the live tokens/s line is redrawn at most this often

/**
 * @typedef {object} StoryRun the story being written
 * @property {number} id the generate request's id: its events and its end carry it
 * @property {string} language the story's language (the view's lang, read aloud)
 * @property {object} request the story form as sent
 * @property {object} settings the advanced settings as typed, saved once it is done
 * @property {string} seed the seed sent (the page draws one when the field is empty)
 * @property {string} opening the prompt's text (from the `prompt` event)
 * @property {number} tokens tokens shown so far
 * @property {boolean} stopping Stop was pressed; the story ends within one step
 * @property {number} stopClickedAt performance.now() of that press (0: not pressed)
 * @property {boolean} begun the story view was cleared for it (at its first event)
 * @property {number} lastSpeedAt performance.now() of the last speed line update
 * @property {Promise<void>} ended resolves when the story has ended, whichever way
 * @property {() => void} markEnded resolves `ended`
 */

/** The page's state, in one place (`hook`, window.conteur, is written for tests, never read back). */
const page = {
  /** @type {WorkerClient | null} the worker, started once the service worker is set up */
  worker: null,
  /** The model is loaded: stories and the speed check may run. */
  ready: false,
  /** Python is up: "surprise me" works, before the model has loaded. */
  pythonReady: false,
  /** @type {StoryRun | null} the story being written; null between stories */
  story: null,
  /** @type {"webgpu" | "wasm" | ""} where the model runs now (from `backend` events) */
  backend: "",
  /** The model's name, once loaded (saved with each story). */
  modelName: "",
  /** @type {StoryLibrary | null} the saved stories, once IndexedDB is open */
  library: null,
};

const doc = document;
setUpLanguage(doc); // before any view writes a text
const status = new StatusView(doc);
const progress = new ProgressView(doc);
const story = new StoryView(doc);
const form = new StoryForm(doc);
const readAloud = new ReadAloud(doc);
const toast = new Toast(doc);
const backendView = new BackendView(doc, status);
const storageView = new StorageView(doc);
const pwa = new Pwa(doc.documentElement.dataset.version, {
  onProgress: (p) => progress.update(p),
  onPhase: (message) => setState("loading", message),
  onStorageShort: (shortage) => {
    storageView.showShortage(shortage);
    hook.storage = storageView.shortage;
  },
  onUpdateReady: () => updateBanner.show(),
});
const updateBanner = new UpdateBanner(doc, () => pwa.takeUpdate());
const buttons = {
  generate: doc.getElementById("generate"),
  stop: doc.getElementById("stop"),
  surprise: doc.getElementById("surprise"),
};
const hook = createTestHook({ language: language(), memory: () => measureMemory(page.worker) });
const myStories = new MyStoriesView(doc, {
  toast: (message) => toast.show(message),
  onCount: (count) => { hook.saved = count; },
});
const speedPanel = new SpeedCheckPanel(doc, {
  measure: async () => {
    const reply = await page.worker.speedCheck();
    if (reply.error?.fatal) showError({ id: null, error: reply.error }); // the engine is gone
    return reply;
  },
  adapter: () => backendView.described,
  onMeasured: (measured) => { hook.speed = measured; },
  toast: (message) => toast.show(message),
});

function setState(state, message, options) {
  status.set(state, message, options);
  hook.state = state;
  pwa.setBusy(state === "loading" || state === "generating"); // no new version takes over meanwhile
  if (state === "error") hook.errors.push(render(message));
  updateButtons();
}

function updateButtons() {
  const writing = page.story !== null;
  buttons.generate.disabled = !page.ready || writing;
  buttons.stop.disabled = (!writing || page.story.stopping) && !readAloud.speaking; // Stop also ends a reading
  buttons.surprise.disabled = !page.pythonReady || Boolean(page.worker?.gone);
  speedPanel.setAllowed(page.ready && !writing);
  form.setBusy(writing);
}

// --- worker events -----------------------------------------------------------------

/** The story `detail` belongs to, when it is the one being written. */
function storyOf(detail) {
  return page.story && detail.id === page.story.id ? page.story : null;
}

function listen(worker) {
  worker.addEventListener(EVENT.phase, ({ detail }) => {
    if (!page.ready) setState("loading", workerMessage(detail));
  });
  worker.addEventListener(EVENT.progress, ({ detail }) => progress.update(detail));
  worker.addEventListener(EVENT.backend, ({ detail }) => {
    page.backend = detail.name;
    backendView.show(detail);
    hook.backend = { name: detail.name, detail: detail.detail, notice: detail.notice || "", check: detail.check, head: detail.head };
    if (detail.notice) toast.show(backendView.notice);
  });
  worker.addEventListener(EVENT.selfCheck, ({ detail }) => {
    hook.selfCheck = { status: detail.status, problems: detail.problems, seconds: detail.seconds, steps: detail.steps, key: detail.key };
    if (detail.problems.length) console.warn(`[conteur] WebGPU self-check ${detail.status}: ${detail.problems.join("; ")}`);
    if (detail.status === "running") rememberVerdict(detail.key, "pending"); // a hang leaves it behind
    else if (detail.status === "failed") rememberVerdict(detail.key, "failed");
    else if (detail.status === "passed") forgetVerdict(detail.key);
  });
  worker.addEventListener(EVENT.pythonReady, () => {
    page.pythonReady = true;
    updateButtons();
  });
  worker.addEventListener(REPLY.ready, ({ detail }) => {
    page.ready = true;
    hook.model = detail.model;
    page.modelName = detail.model.name;
    const pageSeconds = performance.now() / 1000; // since navigation
    hook.timings = { ...detail.timings, page_s: pageSeconds };
    progress.done();
    localize(doc.getElementById("model-name"), detail.model.name);
    const notice = backendView.notice; // "" when the backend is the expected one
    setState("ready", msg("status.loaded", { seconds: decimal(pageSeconds, 1), notice }));
    if (hook.offline === null) storageView.confirm(pwa, hook.backend.name).then((offline) => { hook.offline = offline; });
  });
  worker.addEventListener(EVENT.prompt, ({ detail }) => {
    const run = storyOf(detail);
    if (!run) return;
    startStory(run);
    run.opening = detail.text;
    story.setOpening(detail.text);
  });
  worker.addEventListener(EVENT.token, ({ detail }) => {
    const run = storyOf(detail);
    if (!run) return;
    startStory(run);
    story.append(detail.text);
    run.tokens = detail.index;
    if (detail.index) hook.streamed = detail.index;
    const now = performance.now();
    if (now - run.lastSpeedAt > SPEED_INTERVAL_MS) {
      run.lastSpeedAt = now;
      status.setSpeed(speedText(detail.index, detail.tokensPerSecond));
    }
  });
  worker.addEventListener(EVENT.notice, ({ detail }) => {
    toast.show(pyshellMessage({ code: detail.code, params: detail.params, message: detail.text }, "notice.unknown"));
  });
  worker.addEventListener(EVENT.restart, ({ detail }) => {
    const run = storyOf(detail);
    if (!run) return;
    run.begun = false; // the next `prompt` event clears the view: the story starts again
    hook.restarts += 1;
    progress.done(); // the WASM graph's download, if it was not cached
    setState("generating", workerMessage(detail));
  });
  worker.addEventListener(REPLY.done, ({ detail }) => {
    const run = storyOf(detail);
    if (run) finishStory(run, detail.result);
  });
  worker.addEventListener(REPLY.error, ({ detail }) => showError(detail));
}

/** The end of a failed request: the start-up, a story, or the worker itself. */
function showError({ id, error }) {
  if (error.detail) console.warn(`[conteur] ${error.name}: ${error.detail}`);
  const run = page.story && id === page.story.id ? page.story : null;
  if (run) {
    keepInterrupted(run);
    endStory(run);
  }
  if (error.field !== undefined) {
    setState("error", form.showError(error.field, error.pyshell ?? error)); // the form's values were at fault
    return;
  }
  if (error.fatal) {
    page.ready = false;
    progress.done();
  }
  setState("error", error.pyshell ? pyshellMessage(error.pyshell) : errorText(error), { fatal: error.fatal });
}

/** A worker event's text: its key in the interface language, else its English `message`. */
function workerMessage(detail) {
  return detail.key ? msg(detail.key, detail.params) : detail.message;
}

function speedText(tokens, tokensPerSecond) {
  const count = msg("count.tokens", { count: tokens });
  return tokensPerSecond > 0 ? msg("speed.rate", { rate: decimal(tokensPerSecond, 1), tokens: count }) : count;
}

function startStory(run) {
  if (run.begun) return;
  run.begun = true;
  story.begin(run.language);
}

function endStory(run) {
  page.story = null;
  if (run.begun) story.end();
  updateButtons();
  run.markEnded();
}

/** Keep a story that ended without its result (an error, a stalled engine), as shown. */
function keepInterrupted(run) {
  const text = run.begun ? story.text() : "";
  if (!text.trim()) return;
  myStories.save(interruptedStory({
    text, opening: run.opening, tokens: run.tokens, request: run.request, settings: run.settings,
    seed: run.seed, language: run.language, backend: page.backend, model: page.modelName,
  }));
}

function finishStory(run, result) {
  if (run.stopClickedAt) result.stop_ms = performance.now() - run.stopClickedAt;
  endStory(run);
  hook.last = result;
  hook.stories += 1;
  form.saveSettings(run.settings);
  if (run.begun) {
    myStories.save(finishedStory(result, {
      text: story.text(), settings: run.settings, language: run.language, backend: page.backend, model: page.modelName,
    }));
  }
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
  readAloud.setStory(run.begun ? story.text() : "", result.request?.language ?? run.language);
}

// --- controls ------------------------------------------------------------------------

function generate() {
  if (!page.ready || page.story) return;
  const { request, settings } = form.read();
  readAloud.clear(); // a new story stops the reading
  form.clearErrors();
  hook.streamed = 0;
  status.setSpeed("");
  const sent = withSeed(settings);
  const id = page.worker.generate(request, sent);
  let markEnded;
  const ended = new Promise((resolve) => { markEnded = resolve; });
  page.story = {
    id, language: request.language, request, settings, seed: sent.seed, opening: "", tokens: 0,
    stopping: false, stopClickedAt: 0, begun: false, lastSpeedAt: 0, ended, markEnded,
  };
  setState("generating", msg("status.writing"));
}

function stop() {
  if (readAloud.speaking) readAloud.stop();
  const run = page.story;
  if (!run || run.stopping) return;
  run.stopping = true;
  run.stopClickedAt = performance.now();
  page.worker.stop();
  status.set("generating", msg("status.stopping"));
  updateButtons();
}

async function surprise() {
  if (!page.pythonReady) return;
  const reply = await page.worker.surprise(doc.getElementById("language").value, form.length());
  const idea = reply.value;
  if (reply.error) showOrdinaryError(reply.error);
  else if (idea.error) toast.show(fieldError(idea.error.field, idea.error));
  else form.fill(idea);
}

/**
 * A request beside the story failed ("Surprise me"): the status line says so between
 * stories, a toast while one is written; only a lost engine is fatal.
 */
function showOrdinaryError(error) {
  if (error.fatal) return showError({ id: null, error });
  if (error.detail) console.warn(`[conteur] ${error.name}: ${error.detail}`);
  if (page.story) toast.show(errorText(error));
  else setState("error", errorText(error));
}

/**
 * "Run on" changed: the page reloads, but not under a story without asking. Yes stops
 * the story, waits until it has ended and is kept, then lets the page reload.
 * @returns {Promise<boolean>} true: reload now
 */
async function confirmBackendSwitch() {
  const run = page.story;
  if (run) {
    const yes = await askInline(doc.getElementById("backend-confirm"), {
      question: msg("backend.switchAsk"), yes: msg("backend.switchYes"), no: msg("backend.switchNo"),
    });
    if (!yes) return false;
    if (page.story === run) stop();
    await Promise.race([run.ended, new Promise((resolve) => setTimeout(resolve, STOP_LIMIT_MS))]);
  }
  await page.library?.settled(); // the story's record must be written before the reload
  return true;
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
    } else if (event.key === "Escape" && (page.story || readAloud.speaking)) {
      stop();
    }
  });
  doc.addEventListener("story-action", (event) => toast.show(event.detail));
  readAloud.addEventListener("change", ({ detail }) => {
    hook.reading = detail;
    updateButtons();
  });
  readAloud.addEventListener("error", ({ detail }) => toast.show(detail));
  hook.reading = readAloud.describe();
  addEventListener("pagehide", () => readAloud.stop()); // leaving the page ends the reading
  onLanguageChange((lang) => {
    hook.language = lang;
  });
  wireBackendChoice(form.backendChoice, confirmBackendSwitch);
}

// --- start-up ----------------------------------------------------------------------

/** Open the saved stories and show them; they do not wait for the model. */
async function openLibrary() {
  try {
    page.library = await StoryLibrary.open();
  } catch (error) {
    console.warn(`[conteur] stories cannot be kept here: ${error}`);
  }
  await myStories.show(page.library);
}

/**
 * Where the device reports less memory than loading needs, say so and wait until the
 * reader chooses to load anyway (remembered for the browsing session).
 */
async function askBeforeLoading() {
  const short = memoryShortfall();
  if (!short || lowMemoryAccepted()) return;
  hook.lowMemory = { device_gb: short.deviceGb, needed_gb: short.neededGb };
  setState("loading", msg("memory.low", { device: short.deviceGb, needed: short.neededGb }));
  const button = doc.getElementById("load-anyway");
  button.hidden = false;
  await new Promise((resolve) => button.addEventListener("click", resolve, { once: true }));
  button.hidden = true;
  acceptLowMemory();
}

async function boot() {
  setUpTheme(doc);
  wireControls();
  openLibrary().catch((error) => console.warn(`[conteur] My stories: ${error}`));
  doc.getElementById("version").textContent = doc.documentElement.dataset.version;
  setState("loading", msg("status.starting"));
  const kept = await pwa.prepare();
  if (!kept.serviceWorker) {
    hook.offline = false;
    storageView.setOffline("no");
  }
  if (kept.note) toast.show(kept.note);
  await askBeforeLoading();
  // After the service worker: the worker's downloads then go through its cache. The
  // worker's URL names this page's version, so it gets this version's files (sw.js).
  const version = encodeURIComponent(doc.documentElement.dataset.version);
  page.worker = new WorkerClient(new URL(`../worker/main.js?build=${version}`, import.meta.url));
  listen(page.worker);
  setState("loading", msg("phase.python"));
  page.worker.start({
    backend: backendPreference(),
    explicit: urlPreference() !== null,
    ortVersion: doc.documentElement.dataset.ortVersion,
    failedChecks: rememberedFailures(),
    pendingChecks: rememberedPending(),
  });
}

boot().catch((error) => {
  console.error(error);
  setState("error", msg("status.bootFailed"), { fatal: true });
});
