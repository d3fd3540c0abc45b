// "My stories" (data-testid="my-stories"): the stories saved on this device, readable
// offline, copyable, deletable one by one or all at once (after a question).
//
// The list is drawn from IndexedDB (page/story-library.js) when the page starts, before
// the model loads, so the stories can be read with the network off and on a device
// where the model never loads. Story text enters the page as text only.

import { language, localize, msg, onLanguageChange } from "../shared/i18n.js";
import { askInline } from "./inline-confirm.js";

const TITLE_CHARS = 60;
const BACKEND_KEYS = { webgpu: "library.backend.webgpu", wasm: "library.backend.wasm" };
const END_KEYS = {
  eos: "library.end.finished",
  end_of_turn: "library.end.finished",
  sentence_end: "library.end.finished",
  max_tokens: "library.end.maxTokens",
  cancelled: "library.end.stopped",
  interrupted: "library.end.interrupted",
};

/** The "My stories" panel. */
export class MyStoriesView {
  /**
   * @param {Document} doc
   * @param {{toast: (message: import("../shared/i18n.js").Message) => void,
   *          onCount: (count: number | null) => void}} hooks onCount: after every change
   *   (null: stories cannot be kept here)
   */
  constructor(doc, hooks) {
    this.doc = doc;
    this.hooks = hooks;
    this.section = doc.querySelector('[data-testid="my-stories"]');
    this.panel = doc.getElementById("my-stories-panel");
    this.countElement = doc.getElementById("my-stories-count");
    this.note = doc.getElementById("my-stories-note");
    this.list = doc.getElementById("saved-stories");
    this.deleteAllButton = doc.getElementById("delete-all");
    this.confirmBox = doc.getElementById("delete-all-confirm");
    /** @type {import("./story-library.js").StoryLibrary | null} */
    this.library = null;
    /** @type {import("./story-library.js").SavedStory[]} newest first */
    this.stories = [];
    this.deleteAllButton.addEventListener("click", () => this.removeAll());
    onLanguageChange(() => this.render());
  }

  /**
   * Show the stories of `library`, or why none can be kept.
   * @param {import("./story-library.js").StoryLibrary | null} library null: IndexedDB is unavailable
   * @returns {Promise<void>}
   */
  async show(library) {
    this.library = library;
    if (!library) {
      localize(this.note, msg("library.unavailable"));
      this.note.hidden = false;
      this.section.dataset.state = "unavailable";
      this.deleteAllButton.hidden = true;
      this.hooks.onCount(null);
      return;
    }
    await this.refresh();
  }

  /**
   * Save a story and show it first.
   * @param {import("./story-library.js").SavedStory} story
   * @returns {Promise<boolean>} false when it could not be saved (the reader is told)
   */
  async save(story) {
    if (!this.library) return false;
    try {
      await this.library.add(story);
    } catch (error) {
      console.warn(`[conteur] the story could not be saved: ${error}`);
      this.hooks.toast(msg("library.saveFailed"));
      return false;
    }
    await this.refresh();
    return true;
  }

  async refresh() {
    this.stories = await this.library.list();
    this.section.dataset.state = "ready";
    this.render();
    this.hooks.onCount(this.stories.length);
  }

  render() {
    const count = this.stories.length;
    this.section.dataset.count = String(count);
    localize(this.countElement, count ? msg("library.count", { count }) : "");
    if (this.library) {
      localize(this.note, msg("library.empty"));
      this.note.hidden = count > 0;
    }
    this.deleteAllButton.hidden = count === 0;
    this.list.replaceChildren(...this.stories.map((story) => this.entry(story)));
  }

  /** One saved story: a title line that opens to the text, its facts and its buttons. */
  entry(story) {
    const doc = this.doc;
    const item = doc.createElement("li");
    item.className = "saved-story";
    item.setAttribute("data-testid", "saved-story");
    item.dataset.id = String(story.id);
    item.dataset.backend = story.backend;
    item.dataset.seed = story.seed;
    item.dataset.stopReason = story.stopReason;
    const details = doc.createElement("details");
    const summary = doc.createElement("summary");
    const title = doc.createElement("span");
    title.className = "saved-title";
    title.textContent = storyTitle(story);
    title.lang = story.language;
    const when = doc.createElement("time");
    when.className = "saved-when";
    when.dateTime = story.savedAt;
    when.textContent = new Intl.DateTimeFormat(language(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(story.savedAt));
    summary.append(title, " ", when);
    const text = doc.createElement("p");
    text.className = "saved-text";
    text.lang = story.language;
    text.textContent = story.text;
    const meta = doc.createElement("p");
    meta.className = "saved-meta";
    localize(meta, msg("library.meta", {
      backend: { key: BACKEND_KEYS[story.backend] ?? BACKEND_KEYS.wasm },
      seed: story.seed,
      tokens: { key: "count.tokens", params: { count: story.tokens } },
      end: { key: END_KEYS[story.stopReason] ?? END_KEYS.eos },
    }));
    const actions = doc.createElement("div");
    actions.className = "saved-actions";
    actions.append(
      this.button("action.copy", "saved-copy", () => this.copy(story)),
      this.button("library.delete", "saved-delete", () => this.remove(story.id)),
    );
    details.append(summary, text, meta, actions);
    item.append(details);
    return item;
  }

  button(key, testid, onClick) {
    const button = this.doc.createElement("button");
    button.type = "button";
    button.className = "ghost small";
    button.setAttribute("data-testid", testid);
    localize(button, msg(key));
    button.addEventListener("click", onClick);
    return button;
  }

  async copy(story) {
    try {
      await navigator.clipboard.writeText(story.text);
      this.hooks.toast(msg("story.copied"));
    } catch {
      this.hooks.toast(msg("library.copyBlocked"));
    }
  }

  async remove(id) {
    await this.library.remove(id);
    await this.refresh();
  }

  async removeAll() {
    const count = this.stories.length;
    const yes = await askInline(this.confirmBox, {
      question: msg("library.deleteAllAsk", { count }),
      yes: msg("library.deleteAllYes"),
      no: msg("library.deleteAllNo"),
    });
    if (!yes) return;
    await this.library.clear();
    await this.refresh();
  }
}

/**
 * A short title: the character, setting or theme asked for, else the reader's own
 * first words, else the opening's (never the model's text).
 * @param {import("./story-library.js").SavedStory} story
 * @returns {string}
 */
export function storyTitle(story) {
  const request = story.request ?? {};
  const named = [request.character, request.setting, request.theme, request.text, story.opening]
    .map((part) => (part ?? "").trim().replace(/\s+/g, " "))
    .find(Boolean) ?? "";
  return named.length > TITLE_CHARS ? `${named.slice(0, TITLE_CHARS - 1).trimEnd()}…` : named;
}
