// The interface language (English or French): dictionaries, `t(key, params)`, and the
// translation of the static page through data-i18n attributes.
//
// The interface follows the browser's language (fr* → French, else English) until
// the reader picks one with the switch (remembered in localStorage). The story's own
// language is a separate form field (form.js): switching the interface never changes
// a story. Texts the page shows are kept as *messages* ({key, params}) rather than
// strings wherever they outlive a moment, so a language switch re-renders them.
//
// Static HTML carries its English text plus data-i18n="key" (textContent) and
// data-i18n-placeholder / -title / -aria-label / -content (attributes); dynamic
// elements get the same attributes through `localize`, with data-i18n-params.

import { EN } from "./locales/en.js";
import { FR } from "./locales/fr.js";

/** Interface languages, with their dictionaries. */
export const DICTIONARIES = { en: EN, fr: FR };
export const LANGUAGES = Object.keys(DICTIONARIES);

const SAVED_KEY = "conteur-ui-language";
const ATTRIBUTES = { placeholder: "placeholder", title: "title", "aria-label": "aria-label", content: "content" };

let current = "en";
const listeners = new Set();

/**
 * @typedef {{key?: string, params?: object, text?: string, source?: string}} Message
 * A translatable text: `key` and `params` for t(); or `text` already written in the
 * `source` language (pyshell's English), shown as is in that language and through
 * `key` (its translation) in the others.
 */

/** @returns {"en" | "fr"} the interface language now */
export function language() {
  return current;
}

/**
 * The language to start in: the reader's saved choice, else the browser's.
 * @param {string} [browserLanguage] navigator.language
 * @returns {"en" | "fr"}
 */
export function initialLanguage(browserLanguage = globalThis.navigator?.language ?? "en") {
  try {
    const saved = localStorage.getItem(SAVED_KEY);
    if (LANGUAGES.includes(saved)) return saved;
  } catch {
    // Storage blocked: follow the browser.
  }
  return browserLanguage.toLowerCase().startsWith("fr") ? "fr" : "en";
}

/**
 * Switch the interface language: <html lang>, every data-i18n element, then the listeners.
 * @param {string} lang "en" or "fr"
 * @param {{remember?: boolean, doc?: Document}} [options] remember: the reader chose it
 */
export function setLanguage(lang, { remember = false, doc = globalThis.document } = {}) {
  current = LANGUAGES.includes(lang) ? lang : "en";
  if (remember) {
    try {
      localStorage.setItem(SAVED_KEY, current);
    } catch {
      // Storage blocked: the choice lasts for this page only.
    }
  }
  if (doc) {
    doc.documentElement.lang = current;
    translateDocument(doc);
  }
  for (const listener of listeners) listener(current);
}

/**
 * Call `listener(language)` after every language switch.
 * @param {(lang: string) => void} listener
 */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

const numberFormats = new Map(); // "lang options" → Intl.NumberFormat

/**
 * An Intl.NumberFormat, made once per language and options: making one costs far
 * more than formatting with it, and the progress bars format numbers many times a second.
 * @param {string} lang @param {Intl.NumberFormatOptions} options
 * @returns {Intl.NumberFormat}
 */
function numberFormat(lang, options) {
  const key = `${lang} ${JSON.stringify(options)}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(lang, options);
    numberFormats.set(key, format);
  }
  return format;
}

/**
 * A number written the interface language's way ("12.3" / "12,3", "4,000" / "4 000").
 * @param {number} value
 * @param {number} [digits] fixed decimals; integers by default keep up to 3
 * @returns {string}
 */
export function formatNumber(value, digits) {
  const options = digits === undefined ? { maximumFractionDigits: 3 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
  return numberFormat(current, options).format(value);
}

/**
 * The text of `key` in the interface language, with {name} placeholders filled.
 * Entries may be plural forms ({one, other}) chosen by params.count; number params
 * are formatted for the language, message params are rendered. Missing keys fall
 * back to English, then to the key itself (visible, so tests catch it).
 * @param {string} key
 * @param {object} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  return translate(current, key, params);
}

/**
 * `t` in a given language: the worker writes its errors' English text with it.
 * @param {string} lang @param {string} key @param {object} [params]
 * @returns {string}
 */
export function translate(lang, key, params = {}) {
  let entry = (DICTIONARIES[lang] ?? EN)[key] ?? EN[key];
  if (entry === undefined) return key;
  if (typeof entry === "object") {
    const form = typeof params.count === "number" ? new Intl.PluralRules(lang).select(params.count) : "other";
    entry = entry[form] ?? entry.other;
  }
  return entry.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    if (typeof value === "number") return numberFormat(lang, { maximumFractionDigits: 3 }).format(value);
    if (typeof value?.number === "number") {
      const digits = value.digits === undefined
        ? { maximumFractionDigits: 20, useGrouping: false } // as measured: "1885.4", "1885,4"
        : { minimumFractionDigits: value.digits, maximumFractionDigits: value.digits };
      return numberFormat(lang, digits).format(value.number);
    }
    if (value && typeof value === "object") return value.key && value.text === undefined ? translate(lang, value.key, value.params) : render(value);
    return String(value ?? "");
  });
}

/**
 * A message as text in the interface language.
 * @param {Message | string} message plain strings are shown as they are
 * @returns {string}
 */
export function render(message) {
  if (typeof message === "string") return message;
  if (message.text !== undefined && (!message.key || message.source === current)) return message.text;
  return t(message.key, message.params).trim();
}

/**
 * A number parameter with fixed decimals, written when shown ("12.3" / "12,3");
 * without `digits`, every decimal it has, ungrouped.
 * @param {number} number @param {number} [digits]
 * @returns {{number: number, digits?: number}}
 */
export function decimal(number, digits) {
  return { number, digits };
}

/**
 * A message for `key`: build texts that must survive a language switch.
 * @param {string} key @param {object} [params]
 * @returns {Message}
 */
export function msg(key, params = {}) {
  return { key, params };
}

/**
 * Show `message` as the text of `element` now and after every language switch.
 * @param {Element} element
 * @param {Message | string} message
 */
export function localize(element, message) {
  if (typeof message === "string" || !message.key || message.text !== undefined) {
    // Plain text, or pyshell's text: kept as a whole message in data-i18n-message.
    element.removeAttribute("data-i18n");
    element.removeAttribute("data-i18n-params");
    if (typeof message === "string") element.removeAttribute("data-i18n-message");
    else element.setAttribute("data-i18n-message", JSON.stringify(message));
  } else {
    element.removeAttribute("data-i18n-message");
    element.setAttribute("data-i18n", message.key);
    element.setAttribute("data-i18n-params", JSON.stringify(message.params ?? {}));
  }
  element.textContent = render(message);
}

/**
 * Translate every data-i18n element (and attribute) under `root`.
 * @param {Document | Element} root
 */
export function translateDocument(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n, readParams(element));
  }
  for (const element of root.querySelectorAll("[data-i18n-message]")) {
    element.textContent = render(JSON.parse(element.dataset.i18nMessage));
  }
  for (const [suffix, attribute] of Object.entries(ATTRIBUTES)) {
    for (const element of root.querySelectorAll(`[data-i18n-${suffix}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(`data-i18n-${suffix}`), readParams(element)));
    }
  }
}

function readParams(element) {
  try {
    return JSON.parse(element.dataset.i18nParams ?? "{}");
  } catch {
    return {};
  }
}

/**
 * Wire the interface-language switch (a <select>) and start in the initial language.
 * @param {Document} doc
 */
export function setUpLanguage(doc) {
  const choice = doc.querySelector('[data-testid="ui-language"]');
  const lang = initialLanguage();
  if (choice) {
    choice.value = lang;
    choice.addEventListener("change", () => setLanguage(choice.value, { remember: true, doc }));
  }
  setLanguage(lang, { doc });
}
