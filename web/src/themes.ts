// Terminal colours for the two page themes. Search decorations need #RRGGBB colours.
import type { ITheme } from "@xterm/xterm";

export type ThemeName = "dark" | "light";

export const TERMINAL_THEMES: Readonly<Record<ThemeName, ITheme>> = {
  dark: {
    background: "#14161a",
    foreground: "#d7dae0",
    cursor: "#14161a",
    selectionBackground: "#3e5a84",
    black: "#1e2127",
    red: "#ff6b6b",
    green: "#8fce6a",
    yellow: "#e5c07b",
    blue: "#61afef",
    magenta: "#d78cf0",
    cyan: "#56c8d8",
    white: "#d7dae0",
    brightBlack: "#7f8794",
    brightRed: "#ff8787",
    brightGreen: "#a9e28b",
    brightYellow: "#f0d399",
    brightBlue: "#8cc8ff",
    brightMagenta: "#e5aaf7",
    brightCyan: "#7fdbe8",
    brightWhite: "#ffffff",
  },
  light: {
    background: "#fbfbfa",
    foreground: "#24292f",
    cursor: "#fbfbfa",
    selectionBackground: "#b6d3fb",
    black: "#24292f",
    red: "#c0212e",
    green: "#1a7f37",
    yellow: "#8a5a00",
    blue: "#0550ae",
    magenta: "#8e2ea8",
    cyan: "#0f6e78",
    white: "#6e7781",
    brightBlack: "#59636e",
    brightRed: "#a40e26",
    brightGreen: "#116329",
    brightYellow: "#6f4800",
    brightBlue: "#033d8b",
    brightMagenta: "#6e2088",
    brightCyan: "#0b5560",
    brightWhite: "#1f2328",
  },
};

export const SEARCH_COLOURS: Readonly<Record<ThemeName, { match: string; active: string }>> = {
  dark: { match: "#5c4a12", active: "#b8860b" },
  light: { match: "#fff1a8", active: "#ffb000" },
};
