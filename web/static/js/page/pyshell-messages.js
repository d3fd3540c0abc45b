// pyshell's English messages (form errors, notices) in the interface language.
//
// pyshell checks the form and names the field at fault, in English
// (pyshell.prompts, pyshell.sampler, pyshell.browser.parse_settings): the rules
// live there, once. The page shows those texts as they are in English; other
// languages get them through the patterns below, which keep the numbers. A message
// no pattern knows still gets a translated "this value cannot be used" for its
// field, so no English reaches a French page.

import { msg, translate } from "../shared/i18n.js";

/** A number as pyshell writes it ("4,000", "0.5") → 4000, 0.5; other text unchanged. */
function number(text) {
  const value = Number(String(text).replace(/,/g, ""));
  return Number.isFinite(value) ? value : text;
}

/** The "(got …)" part of a message, as a message of its own ("" when there is none). */
function got(text) {
  const match = /\(got (.*?)\)(?:;|$)/.exec(text);
  if (!match) return "";
  const value = match[1].replace(/^'(.*)'$/, "$1");
  return msg("fieldError.got", { value: number(value) });
}

// [pattern, key, params from the match]: the first that matches wins.
const FIELD_PATTERNS = [
  [/nothing to go on/, "fieldError.nothing", () => ({})],
  [/is ([\d,]+) characters long; the most is ([\d,]+)/, "fieldError.tooLong",
    (m) => ({ length: number(m[1]), limit: number(m[2]) })],
  [/between 0 and 2\*\*64 - 1/, "fieldError.seed", () => ({})],
  [/greater than 0 and at most 1/, "fieldError.topP", () => ({})],
  [/must be between (-?[\d,.]+) and (-?[\d,.]+)/, "fieldError.range", (m) => ({ min: number(m[1]), max: number(m[2]) })],
  [/must be a whole number/, "fieldError.whole", () => ({})],
  [/must be a (?:finite )?number/, "fieldError.number", () => ({})],
  [/must be one of/, "fieldError.choice", () => ({})],
];

/**
 * The reason a field was refused, without its label: pyshell's English text, and
 * its translation for other interface languages.
 * @param {string} message pyshell's message, e.g. "temperature must be between 0 and 2 (got 5)"
 * @returns {import("../shared/i18n.js").Message}
 */
export function fieldReason(message) {
  for (const [pattern, key, params] of FIELD_PATTERNS) {
    const match = pattern.exec(message);
    if (match) return { text: message, source: "en", key, params: { got: got(message), ...params(match) } };
  }
  return { text: message, source: "en", key: "fieldError.invalid", params: { got: got(message) } };
}

/**
 * The status line's message for a refused field: "Temperature must be…" in English
 * (pyshell names most fields itself), "Température : doit aller de 0 à 2…" in French.
 * @param {string} field the form field pyshell named
 * @param {string} message pyshell's message
 * @returns {import("../shared/i18n.js").Message}
 */
export function fieldError(field, message) {
  const label = translate("en", `field.${field}`);
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  const lower = message.toLowerCase();
  const named = [label.toLowerCase(), field.replace(/_/g, " "), field.replace(/_/g, "-")].some((n) => lower.startsWith(n));
  const reason = fieldReason(message);
  return {
    text: named ? sentence : `${label}: ${sentence}`,
    source: "en",
    key: "fieldError.labelled",
    params: { label: msg(`field.${field}`), message: { key: reason.key, params: reason.params } },
  };
}

/**
 * A notice from the generation loop (pyshell.generate), e.g. that the prompt was cut.
 * @param {string} text pyshell's English notice
 * @returns {import("../shared/i18n.js").Message}
 */
export function notice(text) {
  const cut = /prompt is ([\d,]+) tokens long but only ([\d,]+) fit with ([\d,]+) new tokens in the model's ([\d,]+)-token context: the story continues from its last ([\d,]+) tokens/.exec(text);
  if (!cut) return text;
  const [length, room, budget, context, kept] = cut.slice(1).map(number);
  return { text, source: "en", key: "notice.promptCut", params: { length, room, budget, context, kept } };
}
