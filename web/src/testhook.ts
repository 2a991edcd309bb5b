// A read-only window into the page for the browser tests (tests/e2e): what was rendered,
// and how the connection fared. It exposes nothing a user could not see on screen, and
// offers no way to change anything.
import type { ConsoleConnection } from "./connection";
import type { CellStyle, ConsoleView } from "./terminal";

export interface TestHook {
  readonly keptSeqs: () => number[];
  readonly bufferText: () => string[];
  readonly styleOf: (needle: string) => CellStyle | null;
  readonly idle: () => boolean;
  readonly linesWritten: () => number;
  readonly duplicatesDropped: () => number;
  readonly connects: () => number;
  readonly lastSeq: () => number | null;
  readonly connectionState: () => string;
}

declare global {
  interface Window {
    __vsmTest?: TestHook;
  }
}

export function installTestHook(view: ConsoleView, connection: ConsoleConnection): void {
  window.__vsmTest = Object.freeze({
    keptSeqs: () => view.keptSeqs(),
    bufferText: () => view.bufferText(),
    styleOf: (needle: string) => view.styleOf(needle),
    idle: () => view.idle,
    linesWritten: () => view.linesWritten,
    duplicatesDropped: () => connection.duplicatesDropped,
    connects: () => connection.connects,
    lastSeq: () => connection.lastSeen,
    connectionState: () => connection.current.kind,
  });
}
