// HTML that escapes by default. Every value interpolated into an html`` template is escaped
// unless it is itself the result of an html`` template (or of raw(), which only this module's
// callers with constant markup should use). Attributes are always written in double quotes, so
// escaping & < > " ' makes a value safe in text and in attribute values alike.

export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

export type Interpolation =
  | SafeHtml
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Date
  | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value instanceof Date) return escapeHtml(value.toISOString());
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++)
    out += render(values[i] as Interpolation) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup written by us, not derived from input (a constant SVG path, a style sheet). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

/** A table with a heading row: every data table of the admin pages has this shape. */
export function table(headings: readonly string[], rows: Interpolation, id?: string): SafeHtml {
  return html`<table${id ? html` id="${id}"` : ''}>
    <thead>
      <tr>
        ${headings.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
