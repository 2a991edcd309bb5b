// "Download .log": the whole console buffer from the REST history, paged with after/limit,
// so the file holds what vsmanager holds, not only what this tab's scrollback kept.
import type { ApiClient } from "./api";
import { plainLine } from "./render";

const PAGE_LINES = 10_000; // the API's largest page

export async function fetchWholeBuffer(api: ApiClient): Promise<string[]> {
  const out: string[] = [];
  // Pin the end first: output keeps coming while we page, and a file must end somewhere.
  const { last_seq: end } = await api.history({ lines: 0 });
  let after = 0;
  while (after < end) {
    const page = await api.history({ after, limit: PAGE_LINES });
    if (page.lines.length === 0) break;
    for (const line of page.lines) {
      if (line.seq > end) return out;
      // Lines evicted while we paged leave a hole: say so in the file rather than hide it.
      if (after > 0 && line.seq > after + 1) out.push(`# ${line.seq - after - 1} lines no longer held by vsmanager`);
      out.push(plainLine(line));
      after = line.seq;
    }
  }
  return out;
}

export function saveAsFile(lines: readonly string[], now = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  const stamp =
    `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-` +
    `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const name = `vsmanager-console-${stamp}.log`;
  const blob = new Blob([lines.join("\n") + (lines.length > 0 ? "\n" : "")], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoke later: revoking at once can cancel the download in some browsers.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
