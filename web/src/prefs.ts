// Display preferences, kept per browser: theme, font size, timestamps, scrollback.
import type { ThemeName } from "./themes";

export interface Prefs {
  theme: ThemeName;
  fontSize: number;
  timestamps: boolean;
  scrollback: number;
  screenReader: boolean;
  /** Level colours for game lines (warnings, errors, traces, chat, events). */
  levels: boolean;
}

export const FONT_SIZES = { min: 9, max: 28 } as const;
export const DEFAULT_SCROLLBACK = 10_000;
const STORAGE_KEY = "vsmanager.prefs";

function defaults(): Prefs {
  const light = window.matchMedia?.("(prefers-color-scheme: light)").matches ?? false;
  const phone = window.matchMedia?.("(max-width: 600px)").matches ?? false;
  return {
    theme: light ? "light" : "dark",
    fontSize: phone ? 12 : 14,
    timestamps: false,
    scrollback: DEFAULT_SCROLLBACK,
    screenReader: false,
    levels: true,
  };
}

export function loadPrefs(): Prefs {
  const prefs = defaults();
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}");
    if (typeof saved === "object" && saved !== null) {
      const s = saved as Partial<Record<keyof Prefs, unknown>>;
      if (s.theme === "dark" || s.theme === "light") prefs.theme = s.theme;
      if (typeof s.fontSize === "number") prefs.fontSize = clampFont(s.fontSize);
      if (typeof s.timestamps === "boolean") prefs.timestamps = s.timestamps;
      if (typeof s.scrollback === "number" && s.scrollback >= 100 && s.scrollback <= 1_000_000) prefs.scrollback = s.scrollback;
      if (typeof s.screenReader === "boolean") prefs.screenReader = s.screenReader;
      if (typeof s.levels === "boolean") prefs.levels = s.levels;
    }
  } catch {
    // Corrupt or unavailable storage: the defaults will do.
  }
  return prefs;
}

export function savePrefs(prefs: Prefs): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(prefs));
  } catch {
    // Storage disabled: preferences last for this page only.
  }
}

export function clampFont(px: number): number {
  return Math.min(FONT_SIZES.max, Math.max(FONT_SIZES.min, Math.round(px)));
}
