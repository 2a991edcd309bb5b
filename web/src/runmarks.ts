// Where each run of the game begins in the console: a band before the run's first line.
//
// Two sources, because neither alone sees everything: /console/runs gives the first seq of
// every run still in the buffer (exact, for the history shown on connecting), and a status
// frame whose `run` changes while we watch marks a run that starts live. Status frames are
// not paced like lines: one can arrive while older lines are still on their way (a page
// catching up at thousands of lines a second), so its `run_first_seq` says where the mark
// goes; without it (an older server) the mark goes where the status came. Each run is
// marked once. Pure: no DOM.
import type { RunInfo } from "./frames";

export class RunMarks {
  private readonly startsAt = new Map<number, RunInfo>();
  private readonly marked = new Set<number>();
  private lastStatusRun: number | null = null;

  constructor(private readonly formatTime: (ts: string) => string) {}

  /** The runs vsmanager holds (from /console/runs). */
  learn(runs: readonly RunInfo[]): void {
    for (const run of runs) if (run.first_seq !== undefined) this.startsAt.set(run.first_seq, run);
  }

  /**
   * The marks to show among the lines `first`..`last` (a frame's, seqs ascending): each run
   * that begins there and is not marked yet, with the seq to show it before, oldest first.
   * One pass over the runs known (a handful), not a look-up per line.
   */
  within(first: number, last: number): { seq: number; text: string }[] {
    const found: { seq: number; text: string }[] = [];
    for (const [seq, run] of this.startsAt) {
      if (seq < first || seq > last || this.marked.has(run.run)) continue;
      this.marked.add(run.run);
      found.push({ seq, text: this.text(run.run, run.started_at) });
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /**
   * The mark to show now, when a status frame says a new run has begun while we watch; null
   * when there is none, or when its first line (`firstSeq`) is yet to come after `lastSeen`
   * (then `within` shows it before that line).
   */
  onStatus(run: number | null, startedAt: string | null, firstSeq: number | null = null, lastSeen: number | null = null): string | null {
    const previous = this.lastStatusRun;
    this.lastStatusRun = run;
    if (run === null || previous === null || run === previous || this.marked.has(run)) return null;
    if (firstSeq !== null && (lastSeen === null || lastSeen < firstSeq)) {
      this.startsAt.set(firstSeq, { run, started_at: startedAt, ended_at: null, exit_code: null, outcome: null, first_seq: firstSeq });
      return null;
    }
    this.marked.add(run);
    return this.text(run, startedAt);
  }

  /** vsmanager restarted: its runs are numbered afresh. */
  reset(): void {
    this.startsAt.clear();
    this.marked.clear();
    this.lastStatusRun = null;
  }

  private text(run: number, startedAt: string | null): string {
    return `▶ run ${run}${startedAt === null ? "" : ` · started ${this.formatTime(startedAt)}`}`;
  }
}
