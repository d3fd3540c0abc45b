// The reader's stories, kept on this device in IndexedDB ("My stories").
//
// Every finished or stopped story is saved, and so is one cut short (the engine
// stopped answering, the GPU went away and the story was stopped): nothing the reader
// saw is lost. IndexedDB lives beside the service worker's caches, not in them, so a
// new version of the site (which deletes its old caches) and a reload keep the stories.
// The wrapper is the npm package `idb` (vendor/idb/index.js, copied from node_modules
// by web/build.py).
//
// A record holds exactly what the reader saw (`text`: the opening and what was
// written) and what CPython needs to write the same story again: the request, the
// result's sampling (its seed included) and story policy, the token ids, the backend.

import { openDB } from "../../vendor/idb/index.js";

export const DB_NAME = "conteur";
export const DB_VERSION = 1;
export const STORE = "stories";
/** The record layout below; a later layout bumps it and DB_VERSION, and migrates. */
export const RECORD_FORMAT = 1;

/**
 * @typedef {object} SavedStory
 * @property {number} [id] IndexedDB's key (absent until saved)
 * @property {number} format RECORD_FORMAT
 * @property {string} savedAt when it was saved (ISO 8601)
 * @property {string} text the story as shown: the opening, then what the model wrote
 * @property {string} opening the prompt's text, which the story continues
 * @property {string} language the story's language (en, fr)
 * @property {object} request the story form (pyshell StoryRequest fields)
 * @property {Record<string, string>} settings the advanced settings as typed
 * @property {string} seed the seed it was written with (text: up to 2**64 − 1)
 * @property {object | null} sampling the result's `sampling` (temperature, top_k, top_p,
 *   repetition_penalty, seed, max_new_tokens, finish_sentence, no_repeat_ngram,
 *   penalize_prompt); null for a story cut short
 * @property {object | null} policy the result's story `policy`; null when cut short
 * @property {number[] | null} ids the written token ids; null when cut short
 * @property {number[] | null} promptIds the prompt's token ids; null when cut short
 * @property {number} tokens how many tokens were written
 * @property {string} stopReason pyshell's stop_reason (eos, end_of_turn, sentence_end,
 *   max_tokens, cancelled), or "interrupted" for a story cut short
 * @property {"webgpu" | "wasm"} backend where the last token was computed
 * @property {string} model the model's name (conteur.json `name`)
 */

/**
 * A SavedStory from a finished or stopped story (the worker's `done` result).
 * @param {object} result pyshell's StoryResult.to_dict() as the worker sent it
 * @param {{text: string, settings: Record<string, string>, language: string,
 *          backend: string, model: string}} shown what the page showed and knows
 * @returns {SavedStory}
 */
export function finishedStory(result, shown) {
  return {
    format: RECORD_FORMAT,
    savedAt: new Date().toISOString(),
    text: shown.text,
    opening: result.prompt,
    language: result.request?.language ?? shown.language,
    request: result.request,
    settings: shown.settings,
    seed: String(result.seed),
    sampling: result.sampling,
    policy: result.policy ?? null,
    ids: result.ids,
    promptIds: result.prompt_ids,
    tokens: result.stats.generated_tokens,
    stopReason: result.stop_reason,
    backend: shown.backend,
    model: shown.model,
  };
}

/**
 * A SavedStory from a story cut short before its result came (an error, a stall).
 * @param {{text: string, opening: string, tokens: number, request: object,
 *          settings: Record<string, string>, seed: string, language: string,
 *          backend: string, model: string}} shown
 * @returns {SavedStory}
 */
export function interruptedStory(shown) {
  return {
    format: RECORD_FORMAT,
    savedAt: new Date().toISOString(),
    text: shown.text,
    opening: shown.opening,
    language: shown.language,
    request: shown.request,
    settings: shown.settings,
    seed: shown.seed,
    sampling: null,
    policy: null,
    ids: null,
    promptIds: null,
    tokens: shown.tokens,
    stopReason: "interrupted",
    backend: shown.backend,
    model: shown.model,
  };
}

/** The stories saved on this device (one IndexedDB object store). */
export class StoryLibrary {
  /** @param {import("../../vendor/idb/index.js").IDBPDatabase} db */
  constructor(db) {
    this.db = db;
    /** @type {Set<Promise<unknown>>} writes under way: a reload waits for them */
    this.writes = new Set();
  }

  /**
   * Open (or create) the database.
   * @returns {Promise<StoryLibrary>} rejects where IndexedDB is unavailable
   */
  static async open() {
    const db = await openDB(DB_NAME, DB_VERSION, {
      upgrade(database) {
        database.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      },
    });
    return new StoryLibrary(db);
  }

  /**
   * @param {SavedStory} story
   * @returns {Promise<number>} its id
   */
  add(story) {
    return this.track(this.db.add(STORE, story));
  }

  /** @returns {Promise<SavedStory[]>} every saved story, newest first */
  async list() {
    return (await this.db.getAll(STORE)).reverse();
  }

  /** @returns {Promise<number>} how many stories are saved */
  count() {
    return this.db.count(STORE);
  }

  /** @param {number} id */
  remove(id) {
    return this.track(this.db.delete(STORE, id));
  }

  /** Delete every saved story. */
  clear() {
    return this.track(this.db.clear(STORE));
  }

  /** @returns {Promise<void>} once every write begun so far has ended */
  async settled() {
    await Promise.allSettled([...this.writes]);
  }

  track(write) {
    this.writes.add(write);
    const done = () => this.writes.delete(write);
    write.then(done, done);
    return write;
  }
}
