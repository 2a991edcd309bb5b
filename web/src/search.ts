// Ctrl+F: find text in the terminal's scrollback, newest match first, with older/newer and a
// count that numbers the matches from the newest ("1 of 39" is the newest line's).
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
      else el.count.textContent = matchCount(resultIndex, resultCount);
    });
    el.input.addEventListener("input", () => this.find("older", true));
    el.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        // A console is read from the bottom up: Enter goes on to the older match.
        this.find(event.shiftKey ? "newer" : "older");
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      }
    });
    el.prev.addEventListener("click", () => this.find("older"));
    el.next.addEventListener("click", () => this.find("newer"));
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
    if (this.el.input.value !== "") this.find("older", true);
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

  /** `fresh`: the term changed, so start again from the newest line. */
  private find(direction: "older" | "newer", fresh = false): void {
    const term = this.el.input.value;
    if (term === "") {
      this.view.search.clearDecorations();
      this.el.count.textContent = "";
      return;
    }
    const colours = SEARCH_COLOURS[this.theme];
    // The addon searches backwards from its selection, or from the bottom without one.
    if (fresh) this.view.term.clearSelection();
    const options: ISearchOptions = {
      decorations: {
        matchBackground: colours.match,
        activeMatchBackground: colours.active,
        matchOverviewRuler: colours.match,
        activeMatchColorOverviewRuler: colours.active,
      },
    };
    if (direction === "older") this.view.search.findPrevious(term, options);
    else this.view.search.findNext(term, options);
  }
}

/**
 * "1 of 39" for the newest match; the addon's index counts from the oldest (pure, tested).
 * A negative index: the addon found more matches than it tracks, or lost the selected one.
 */
export function matchCount(resultIndex: number, resultCount: number): string {
  if (resultCount === 0) return "no matches";
  if (resultIndex < 0 || resultIndex >= resultCount) return `${resultCount.toLocaleString("en")} matches`;
  return `${(resultCount - resultIndex).toLocaleString("en")} of ${resultCount.toLocaleString("en")}`;
}
