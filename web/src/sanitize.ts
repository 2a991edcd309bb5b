// Making game text harmless: it may paint itself in colours, nothing more.
//
// vsmanager's own marks (the [CMD] and [vsmanager] badges, notes, the gap band) are drawn
// with bold and coloured backgrounds; game text keeps only its foreground colours, so no
// game line can produce a mark, hide text (conceal), blink, or look like a badge (inverse,
// backgrounds). Every other escape sequence or control character could move the cursor,
// clear the screen or retitle the tab, so it is dropped. Bidirectional controls, which
// reorder what the reader sees ("Trojan Source"), are shown escaped, as the terminal
// client shows them (src/vsmanager/remote/terminal.py). Pure: no DOM.

// CSI sequences (bounded parameter list), any other ESC pair, C0 except tab, DEL, C1.
const CONTROL = /\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b[\s\S]?|[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
const SGR = /^\x1b\[([0-9;:]{0,64})m$/;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const CONTROL_OR_BIDI = new RegExp(`${CONTROL.source}|${BIDI.source}`, "g");
// For plain text (downloads): every control character and bidi control becomes visible.
const UNSAFE_PLAIN = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function isForeground(code: number): boolean {
  return (code >= 30 && code <= 37) || code === 39 || (code >= 90 && code <= 97);
}

/**
 * The colour-only part of an SGR parameter list: reset, foreground colours (8, 16, 256 and
 * RGB); null when nothing is left. Bold, underline, blink, inverse, conceal, italics and
 * backgrounds are dropped.
 */
export function foregroundOnly(params: string): string | null {
  const parts = params === "" ? ["0"] : params.split(";");
  const kept: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (part.includes(":")) {
      // ITU colon form (38:5:n, 38:2::r:g:b) is self-contained: keep it for foregrounds only.
      if (/^38:(5:\d{1,3}|2:\d*:\d{1,3}:\d{1,3}:\d{1,3}|2:\d{1,3}:\d{1,3}:\d{1,3})$/.test(part)) kept.push(part);
      continue;
    }
    const code = part === "" ? 0 : Number(part);
    if (code === 38 || code === 48) {
      // Extended colours take their arguments from the following parameters.
      const mode = parts[i + 1];
      const width = mode === "5" ? 2 : mode === "2" ? 4 : 0;
      const args = parts.slice(i + 1, i + 1 + width);
      i += width;
      if (code === 38 && width > 0 && args.length === width && args.every((a) => /^\d{1,3}$/.test(a))) {
        kept.push(["38", ...args].join(";"));
      }
      continue;
    }
    if (code === 0 || isForeground(code)) kept.push(String(code));
  }
  return kept.length === 0 ? null : kept.join(";");
}

function escapeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

// A game repeats a handful of SGR sequences on every line: filter each once.
const sgrCache = new Map<string, string>();
const SGR_CACHE_LIMIT = 512;

function filterSgr(params: string): string {
  let kept = sgrCache.get(params);
  if (kept === undefined) {
    const colours = foregroundOnly(params);
    kept = colours === null ? "" : `\x1b[${colours}m`;
    if (sgrCache.size >= SGR_CACHE_LIMIT) sgrCache.clear();
    sgrCache.set(params, kept);
  }
  return kept;
}

/** Game text for the terminal: foreground colours kept, other escapes dropped, bidi shown. */
export function sanitize(text: string): string {
  // Most lines hold nothing to filter: one scan, no copy.
  UNSAFE_PLAIN.lastIndex = 0;
  if (!UNSAFE_PLAIN.test(text)) return text;
  return text.replace(CONTROL_OR_BIDI, (match) => {
    if (BIDI.test(match)) return escapeChar(match);
    const sgr = SGR.exec(match);
    return sgr === null ? "" : filterSgr(sgr[1] ?? "");
  });
}

/** Text for a plain file: every control character visible (`\x1b`, `\x07`, `\u202e`), tab kept. */
export function escapePlain(text: string): string {
  return text.replace(UNSAFE_PLAIN, escapeChar);
}
