// A read-only window into the page for the browser tests (tests/e2e): what was rendered,
// and how the connection fared. It exposes nothing a user could not see on screen, and
// offers no way to change anything.
import type { RunEnd } from "./charts";
import type { ConsoleConnection } from "./connection";
import type { LevelSwitch } from "./levels";
import type { ResourceStrip } from "./strip";
import type { CellStyle, ConsoleView } from "./terminal";

export interface TestHook {
  readonly keptSeqs: () => number[];
  readonly bufferText: () => string[];
  readonly styleOf: (needle: string) => CellStyle | null;
  readonly idle: () => boolean;
  readonly linesWritten: () => number;
  readonly duplicatesDropped: () => number;
  readonly linesFrames: () => number;
  readonly connects: () => number;
  readonly lastSeq: () => number | null;
  readonly connectionState: () => string;
  readonly consoleId: () => string | null;
  readonly chartPoints: () => number;
  readonly metricsPolls: () => number;
  readonly chartMarkers: () => readonly RunEnd[];
  readonly chartAxes: () => { time: readonly string[]; value: readonly string[] };
  readonly playersOnChart: () => { point: number | null; value: string };
  readonly levelsOn: () => boolean;
  readonly following: () => boolean;
  readonly viewportText: () => string[];
  readonly selectedRowText: () => string | null;
}

/** The Monitor page's part: no console, only the strip. */
export interface MonitorTestHook {
  readonly chartPoints: () => number;
  readonly metricsPolls: () => number;
  readonly chartMarkers: () => readonly RunEnd[];
}

declare global {
  interface Window {
    __vsmTest?: TestHook;
    __vsmMonitorTest?: MonitorTestHook;
  }
}

export function installMonitorTestHook(strip: ResourceStrip): void {
  window.__vsmMonitorTest = Object.freeze({
    chartPoints: () => strip.samples,
    metricsPolls: () => strip.polls,
    chartMarkers: () => strip.markers,
  });
}

export function installTestHook(view: ConsoleView, connection: ConsoleConnection, strip: ResourceStrip, levels: LevelSwitch): void {
  window.__vsmTest = Object.freeze({
    keptSeqs: () => view.keptSeqs(),
    bufferText: () => view.bufferText(),
    styleOf: (needle: string) => view.styleOf(needle),
    idle: () => view.idle,
    linesWritten: () => view.linesWritten,
    duplicatesDropped: () => connection.duplicatesDropped,
    linesFrames: () => connection.linesFrames,
    connects: () => connection.connects,
    lastSeq: () => connection.lastSeen,
    connectionState: () => connection.current.kind,
    consoleId: () => connection.console,
    chartPoints: () => strip.samples,
    metricsPolls: () => strip.polls,
    chartMarkers: () => strip.markers,
    chartAxes: () => strip.axes,
    playersOnChart: () => strip.playersShownOnChart,
    levelsOn: () => levels.isOn,
    following: () => view.isFollowing,
    viewportText: () => view.viewportText(),
    selectedRowText: () => view.selectedRowText(),
  });
}
