// The console toolbar: search, copy, download, timestamps, font size, theme, scrollback.
import type { ApiClient } from "./api";
import { copyText } from "./clipboard";
import { fetchWholeBuffer, saveAsFile } from "./download";
import { clampFont, savePrefs, type Prefs } from "./prefs";
import type { SearchBar } from "./search";
import type { ConsoleView } from "./terminal";
import type { ThemeName } from "./themes";

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

export function applyTheme(theme: ThemeName): void {
  document.documentElement.dataset["theme"] = theme;
  const button = byId<HTMLButtonElement>("tool-theme");
  const other = theme === "dark" ? "light" : "dark";
  button.textContent = other === "light" ? "Light" : "Dark";
  button.setAttribute("aria-label", `Switch to ${other} theme`);
}

export class Toolbar {
  private readonly message = byId<HTMLElement>("tool-message");
  private messageTimer: number | undefined;

  constructor(
    private readonly view: ConsoleView,
    private readonly search: SearchBar,
    private readonly api: ApiClient,
    private readonly prefs: Prefs,
  ) {
    byId("tool-search").addEventListener("click", () => search.open());
    byId("tool-copy").addEventListener("click", () => void this.copy());
    byId("tool-download").addEventListener("click", () => void this.download());

    const stamps = byId<HTMLButtonElement>("tool-timestamps");
    stamps.setAttribute("aria-pressed", String(prefs.timestamps));
    stamps.addEventListener("click", () => {
      prefs.timestamps = !prefs.timestamps;
      stamps.setAttribute("aria-pressed", String(prefs.timestamps));
      view.setTimestamps(prefs.timestamps);
      savePrefs(prefs);
    });

    byId("tool-font-smaller").addEventListener("click", () => this.setFont(prefs.fontSize - 1));
    byId("tool-font-larger").addEventListener("click", () => this.setFont(prefs.fontSize + 1));

    byId("tool-theme").addEventListener("click", () => {
      prefs.theme = prefs.theme === "dark" ? "light" : "dark";
      applyTheme(prefs.theme);
      view.setTheme(prefs.theme);
      search.setTheme(prefs.theme);
      savePrefs(prefs);
    });

    const scrollback = byId<HTMLSelectElement>("tool-scrollback");
    if (![...scrollback.options].some((o) => o.value === String(prefs.scrollback))) {
      scrollback.add(new Option(prefs.scrollback.toLocaleString("en"), String(prefs.scrollback)));
    }
    scrollback.value = String(prefs.scrollback);
    scrollback.addEventListener("change", () => {
      prefs.scrollback = Number(scrollback.value);
      view.setScrollback(prefs.scrollback);
      savePrefs(prefs);
    });
  }

  /** Copies the terminal's selection; used by the button and by Ctrl+C / Ctrl+Shift+C. */
  async copy(): Promise<void> {
    const text = this.view.copySelection();
    if (text === "") {
      this.say("Select some console text first.");
      return;
    }
    this.say((await copyText(text)) ? "Copied." : "Copy failed: the browser refused.");
  }

  private async download(): Promise<void> {
    const button = byId<HTMLButtonElement>("tool-download");
    button.disabled = true;
    this.say("Preparing the log…");
    try {
      const lines = await fetchWholeBuffer(this.api);
      const name = saveAsFile(lines);
      this.say(`Saved ${lines.length.toLocaleString("en")} lines as ${name}.`);
    } catch (error) {
      this.say(`Download failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      button.disabled = false;
    }
  }

  private setFont(px: number): void {
    this.prefs.fontSize = clampFont(px);
    this.view.setFontSize(this.prefs.fontSize);
    savePrefs(this.prefs);
    this.say(`Text size ${this.prefs.fontSize} px.`);
  }

  private say(text: string): void {
    this.message.textContent = text;
    window.clearTimeout(this.messageTimer);
    this.messageTimer = window.setTimeout(() => {
      this.message.textContent = "";
    }, 6000);
  }
}
