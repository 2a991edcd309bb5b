// Small live charts (uPlot, bundled): one series each over the last hour, with a time axis,
// a value axis, and a marker where a run of the game ended (crashed or stopped), so a
// break in the line is explained where it is seen.
// uPlot draws on a canvas and styles through the CSSOM, so the page's CSP needs nothing extra.
import uPlot from "uplot";
import { formatTime } from "./render";

export interface SparkOptions {
  readonly label: string;
  /** How a value reads beside the label and on the axis, e.g. "12 %". */
  readonly format: (value: number | null) => string;
  /** The y range never shrinks below this (a flat 0.1 % line must not look like a spike). */
  readonly minMax: number;
  /** Plot height in CSS pixels, axes included. */
  readonly height?: number;
  /** Draw where runs ended (CPU and memory: their lines break there). */
  readonly markers?: boolean;
  /** Whole numbers only on the value axis (players). */
  readonly integer?: boolean;
}

/** Where a run of the game ended: unix seconds, and how. */
export interface RunEnd {
  readonly t: number;
  readonly run: number;
  readonly outcome: "crashed" | "killed" | "stopped";
}

const HEIGHT = 96;

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const AXIS_FONT = "10px system-ui, sans-serif";

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === "" ? fallback : value;
}

/** "crashed 03:12:09" / "stopped 03:12:09": what a marker says (pure). */
export function markerText(end: RunEnd): string {
  const how = end.outcome === "stopped" ? "stopped" : end.outcome === "killed" ? "killed" : "crashed";
  return `run ${end.run} ${how} ${formatTime(new Date(end.t * 1000).toISOString())}`;
}

export class SparkChart {
  private readonly plot: uPlot;
  private readonly value: HTMLElement;
  private readonly canvas: HTMLElement;
  private ends: readonly RunEnd[] = [];
  /** The markers drawn at the last draw (inside the plotted time range). */
  drawnMarkers: readonly RunEnd[] = [];
  /** The axes' labels at the last draw: times ("14:05") and values ("12 %"). */
  axisLabels: { time: readonly string[]; value: readonly string[] } = { time: [], value: [] };

  constructor(
    container: HTMLElement,
    private readonly options: SparkOptions,
  ) {
    container.classList.add("spark");
    const head = document.createElement("div");
    head.className = "spark-head";
    const label = document.createElement("span");
    label.textContent = options.label;
    this.value = document.createElement("span");
    this.value.className = "spark-value";
    this.value.textContent = options.format(null);
    head.append(label, this.value);
    this.canvas = document.createElement("div");
    this.canvas.className = "spark-plot";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `${options.label}, the last hour`);
    container.append(head, this.canvas);
    const height = options.height ?? HEIGHT;
    // Read at each draw, so a theme switch recolours the charts at their next sample.
    const stroke = (): string => cssVar("--accent", "#5aa9ff");
    const muted = (): string => cssVar("--muted", "#9aa3ad");
    const grid = (): string => cssVar("--border", "#2e333b");
    this.plot = new uPlot(
      {
        width: Math.max(80, this.canvas.clientWidth),
        height,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        padding: [6, 4, 0, 0],
        axes: [
          {
            stroke: muted,
            font: AXIS_FONT,
            size: 16,
            space: 72,
            gap: 2,
            ticks: { show: false },
            grid: { show: false },
            values: (_u, splits) => {
              const labels = splits.map((t) => clock.format(new Date(t * 1000)));
              this.axisLabels = { ...this.axisLabels, time: labels };
              return labels;
            },
          },
          {
            stroke: muted,
            font: AXIS_FONT,
            size: 46,
            space: 18,
            gap: 3,
            ticks: { show: false },
            grid: { stroke: grid, width: 0.5 },
            ...(options.integer === true ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}),
            values: (_u, splits) => {
              const labels = splits.map((v) => options.format(v));
              this.axisLabels = { ...this.axisLabels, value: labels };
              return labels;
            },
          },
        ],
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(options.minMax, max * 1.15)] },
        },
        series: [{}, { stroke, width: 1.5, fill: () => `${stroke()}33`, points: { show: false }, spanGaps: false }],
        hooks: options.markers === true ? { draw: [(u) => this.drawMarkers(u)] } : {},
      },
      [[], []],
      this.canvas,
    );
    new ResizeObserver(() => {
      const width = this.canvas.clientWidth;
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height });
    }).observe(this.canvas);
  }

  setData(times: readonly number[], values: readonly (number | null)[], shown?: number | null): void {
    this.plot.setData([times as number[], values as (number | null)[]]);
    this.value.textContent = this.options.format(shown !== undefined ? shown : (values[values.length - 1] ?? null));
  }

  /** Where runs ended; drawn at the next draw (a marker outside the hour is not drawn). */
  setRunEnds(ends: readonly RunEnd[]): void {
    this.ends = ends;
  }

  get points(): number {
    return this.plot.data[0].length;
  }

  private drawMarkers(u: uPlot): void {
    const times = u.data[0];
    const first = times[0];
    const last = times[times.length - 1];
    if (first === undefined || last === undefined) {
      this.drawnMarkers = [];
      return;
    }
    const shown = this.ends.filter((end) => end.t >= first && end.t <= last);
    this.drawnMarkers = shown;
    const ctx = u.ctx;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.font = `${Math.round(10 * ratio)}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    for (const end of shown) {
      const x = Math.round(u.valToPos(end.t, "x", true));
      const colour = end.outcome === "stopped" ? cssVar("--muted", "#9aa3ad") : cssVar("--danger", "#ff6b6b");
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = ratio;
      ctx.setLineDash([3 * ratio, 3 * ratio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      const text = end.outcome === "stopped" ? "■ stopped" : "✕ crashed";
      const width = ctx.measureText(text).width;
      // The label sits beside the line, inside the plot.
      const left = x + 3 * ratio + width > u.bbox.left + u.bbox.width ? x - 3 * ratio - width : x + 3 * ratio;
      ctx.fillText(text, left, u.bbox.top + 1 * ratio);
    }
    ctx.restore();
    const said = shown.map(markerText).join("; ");
    this.canvas.setAttribute("aria-label", `${this.options.label}, the last hour${said === "" ? "" : `; ${said}`}`);
    this.canvas.title = said;
  }
}
