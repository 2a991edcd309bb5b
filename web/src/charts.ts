// Small live charts (uPlot, bundled): one series each, the last hour, no axes clutter.
// uPlot draws on a canvas and styles through the CSSOM, so the page's CSP needs nothing extra.
import uPlot from "uplot";

export interface SparkOptions {
  readonly label: string;
  /** How the newest value reads beside the label, e.g. "12 %". */
  readonly format: (value: number | null) => string;
  /** The y range never shrinks below this (a flat 0.1 % line must not look like a spike). */
  readonly minMax: number;
  /** Plot height in CSS pixels. */
  readonly height?: number;
}

const HEIGHT = 56;

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === "" ? fallback : value;
}

export class SparkChart {
  private readonly plot: uPlot;
  private readonly value: HTMLElement;

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
    const canvas = document.createElement("div");
    canvas.className = "spark-plot";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${options.label}, the last hour`);
    container.append(head, canvas);
    // Read at each draw, so a theme switch recolours the charts at their next sample.
    const stroke = (): string => cssVar("--accent", "#5aa9ff");
    this.plot = new uPlot(
      {
        width: Math.max(80, canvas.clientWidth),
        height: options.height ?? HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        padding: [4, 2, 2, 2],
        axes: [{ show: false }, { show: false }],
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(options.minMax, max * 1.15)] },
        },
        series: [{}, { stroke, width: 1.5, fill: () => `${stroke()}33`, points: { show: false }, spanGaps: false }],
      },
      [[], []],
      canvas,
    );
    new ResizeObserver(() => {
      const width = canvas.clientWidth;
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: options.height ?? HEIGHT });
    }).observe(canvas);
  }

  setData(times: readonly number[], values: readonly (number | null)[]): void {
    this.plot.setData([times as number[], values as (number | null)[]]);
    this.value.textContent = this.options.format(values[values.length - 1] ?? null);
  }

  get points(): number {
    return this.plot.data[0].length;
  }
}
