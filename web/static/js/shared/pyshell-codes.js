// pyshell's errors and notices in the interface language, by their code.
//
// pyshell checks the form and writes the story (pyshell.settings, pyshell.prompts,
// pyshell.story): the rules live there, once. Each error or notice it reports carries
// a stable `code` (pyshell/errors.py) and `params` beside its English `message`; the
// page shows the locale entry `pyshellCode.<code>` (js/locales/) with those params, in
// every interface language, and reads nothing from the English text. A code this
// page does not know yet still gets a translated "this value cannot be used" for its
// field (pyshell's English in an English interface), so no English reaches a French page.

import { DICTIONARIES, msg } from "./i18n.js";

/**
 * @typedef {{code?: string, params?: object, message?: string}} PyshellReport
 * An error or notice as pyshell reports it (pyshell.errors: `to_dict()`).
 */

/**
 * The locale entry of the report's code with `params`; for a code the locales lack,
 * pyshell's English, and `fallback` with `fallbackParams` in other languages.
 * @param {PyshellReport} report @param {object} params
 * @param {string} fallback @param {object} fallbackParams
 * @returns {import("./i18n.js").Message}
 */
function byCode(report, params, fallback, fallbackParams) {
  const key = `pyshellCode.${report.code}`;
  if (typeof report.code === "string" && key in DICTIONARIES.en) return msg(key, params);
  return { text: report.message ?? "", source: "en", key: fallback, params: fallbackParams };
}

/** The params, with the refused value (`got`) as a message of its own ("" when absent). */
function withGot(params = {}) {
  const { got, ...rest } = params;
  return { ...rest, got: got === undefined ? "" : msg("fieldError.got", { value: got }) };
}

/**
 * The reason a field was refused, without its label ("must be between 0 and 2 (got 5)").
 * @param {PyshellReport} report
 * @returns {import("./i18n.js").Message}
 */
export function fieldReason(report) {
  const params = withGot(report.params);
  return byCode(report, params, "fieldError.invalid", params);
}

/**
 * The status line's message for a refused field: "Temperature: must be between 0 and 2 (got 5)".
 * @param {string} field the form field pyshell named
 * @param {PyshellReport} report
 * @returns {import("./i18n.js").Message}
 */
export function fieldError(field, report) {
  return msg("fieldError.labelled", { label: msg(`field.${field}`), message: fieldReason(report) });
}

/**
 * Any other report (a notice, a model or context error) as a message; a code the
 * locales lack shows pyshell's English, or `fallback` in other languages.
 * @param {PyshellReport} report
 * @param {string} [fallback] the locale key shown for an unknown code ({detail}: the English)
 * @returns {import("./i18n.js").Message}
 */
export function pyshellMessage(report, fallback = "error.generation") {
  return byCode(report, report.params ?? {}, fallback, { detail: report.message ?? "" });
}
