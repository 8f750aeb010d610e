/**
 * An HTML template helper that escapes by default: `` markup`<td>${value}</td>` `` escapes every
 * interpolated string or number, so a new interpolation cannot forget to. Markup built by the
 * helper itself (a {@link SafeHtml}), arrays of it, and text explicitly marked with
 * {@link trustedHtml} are inserted as they are.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** Markup that is already safe to insert (built by {@link markup} or {@link trustedHtml}). */
export class SafeHtml {
  /** The markup. */
  readonly text: string;
  /** Wraps markup; use {@link markup} or {@link trustedHtml} instead of calling this. */
  constructor(text: string) {
    this.text = text;
  }
  /** The markup. */
  toString(): string {
    return this.text;
  }
}

/** What may be interpolated into {@link markup}. */
export type HtmlValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | SafeHtml
  | readonly HtmlValue[];

/**
 * Escapes the five HTML-significant characters `& < > " '`, for text and attribute values.
 *
 * @example Usage
 * ```ts
 * import { escapeHtml } from "./html_template.ts";
 * if (escapeHtml('<a href="x">') !== "&lt;a href=&quot;x&quot;&gt;") throw new Error("unexpected");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&#39;";
    }
  });
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}

/**
 * Builds markup, escaping every interpolated value unless it is {@link SafeHtml} (arrays are
 * joined; null, undefined and false give nothing).
 *
 * @example Usage
 * ```ts
 * import { markup } from "./html_template.ts";
 * const name = "<script>";
 * if (markup`<b>${name}</b>`.text !== "<b>&lt;script&gt;</b>") throw new Error("unexpected");
 * ```
 */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/**
 * Marks text as safe markup without escaping. Only for text the program itself produced as
 * markup (style sheets, serialised scripts), never for input.
 *
 * @example Usage
 * ```ts
 * import { markup, trustedHtml } from "./html_template.ts";
 * if (markup`${trustedHtml("<br>")}`.text !== "<br>") throw new Error("unexpected");
 * ```
 */
export function trustedHtml(text: string): SafeHtml {
  return new SafeHtml(text);
}
