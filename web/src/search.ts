// Ctrl+F: find text in the terminal's scrollback with next/previous and a match count.
import type { ISearchOptions } from "@xterm/addon-search";
import type { ConsoleView } from "./terminal";
import { SEARCH_COLOURS, type ThemeName } from "./themes";

export interface SearchBarElements {
  readonly bar: HTMLElement;
  readonly input: HTMLInputElement;
  readonly count: HTMLElement;
  readonly prev: HTMLButtonElement;
  readonly next: HTMLButtonElement;
  readonly close: HTMLButtonElement;
}

export class SearchBar {
  private theme: ThemeName;

  constructor(
    private readonly el: SearchBarElements,
    private readonly view: ConsoleView,
    theme: ThemeName,
  ) {
    this.theme = theme;
    view.search.onDidChangeResults(({ resultIndex, resultCount }) => {
      if (el.input.value === "") el.count.textContent = "";
      else if (resultCount === 0) el.count.textContent = "no matches";
      else if (resultIndex < 0) el.count.textContent = `${resultCount}+ matches`;
      else el.count.textContent = `${resultIndex + 1} of ${resultCount}`;
    });
    el.input.addEventListener("input", () => this.find("next", true));
    el.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.find(event.shiftKey ? "previous" : "next");
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      }
    });
    el.prev.addEventListener("click", () => this.find("previous"));
    el.next.addEventListener("click", () => this.find("next"));
    el.close.addEventListener("click", () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.bar.hidden;
  }

  open(): void {
    this.el.bar.hidden = false;
    const selection = this.view.copySelection();
    if (selection !== "" && !selection.includes("\n")) this.el.input.value = selection;
    this.el.input.focus();
    this.el.input.select();
    this.view.fit();
    if (this.el.input.value !== "") this.find("next", true);
  }

  close(): void {
    this.el.bar.hidden = true;
    this.view.search.clearDecorations();
    this.el.count.textContent = "";
    this.view.fit();
    this.view.focus();
  }

  setTheme(theme: ThemeName): void {
    this.theme = theme;
  }

  private find(direction: "next" | "previous", incremental = false): void {
    const term = this.el.input.value;
    if (term === "") {
      this.view.search.clearDecorations();
      this.el.count.textContent = "";
      return;
    }
    const colours = SEARCH_COLOURS[this.theme];
    const options: ISearchOptions = {
      incremental: incremental && direction === "next",
      decorations: {
        matchBackground: colours.match,
        activeMatchBackground: colours.active,
        matchOverviewRuler: colours.match,
        activeMatchColorOverviewRuler: colours.active,
      },
    };
    if (direction === "next") this.view.search.findNext(term, options);
    else this.view.search.findPrevious(term, options);
  }
}
