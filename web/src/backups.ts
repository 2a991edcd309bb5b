// The backups panel (Admin): the list with sizes, age and a verified mark; create, download,
// verify, delete and restore (the admin types the world's name in the page's confirmation
// dialog); progress while one runs.
import { ApiError, type ApiClient } from "./api";
import { confirmAction } from "./confirm";

export interface BackupItem {
  readonly id: string;
  readonly name: string;
  readonly time: string;
  readonly size: number;
  readonly verified: boolean;
  readonly world: string | null;
  readonly made_by: string | null;
}

const POLL_MS = 1000;

/** "1.5 MiB" (pure). */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "3 h ago" (pure). */
export function formatAge(time: string, now: number): string {
  const seconds = Math.max(0, (now - Date.parse(time)) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export class BackupsPanel {
  constructor(
    private readonly api: ApiClient,
    private readonly list: HTMLElement,
    private readonly progress: HTMLElement,
    create: HTMLButtonElement,
  ) {
    create.addEventListener("click", () => void this.run(() => this.api.backups("POST", "")));
  }

  start(): void {
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      const body = (await this.api.backups("GET", "")) as { backups: BackupItem[]; busy: string | null };
      this.render(body.backups);
      if (body.busy !== null) await this.follow(body.busy);
    } catch (error) {
      // Backups are off (no VS_BACKUP_DIR): no panel rather than an error.
      if (error instanceof ApiError && error.code === "backups_disabled") {
        this.list.closest("section")?.setAttribute("hidden", "");
        return;
      }
      this.progress.textContent = `Backups: ${String(error instanceof Error ? error.message : error)}`;
    }
  }

  private render(items: readonly BackupItem[]): void {
    this.list.replaceChildren(
      ...items.map((item) => {
        const row = document.createElement("li");
        row.className = "backup";
        row.dataset.id = item.id;
        const text = document.createElement("span");
        const mark = item.verified ? "✔ verified" : "✖ not verified";
        text.textContent = `${item.name} · ${formatSize(item.size)} · ${formatAge(item.time, Date.now())} · ${mark} · by ${item.made_by ?? "?"}`;
        row.append(
          text,
          this.button("Download", () => this.download(item)),
          this.button("Verify", () => this.run(() => this.api.backups("POST", `/${item.id}/verify`))),
          this.button("Delete", () => this.run(() => this.api.backups("DELETE", `/${item.id}`))),
          this.button("Restore", () => this.restore(item)),
        );
        return row;
      }),
    );
  }

  private button(label: string, action: () => Promise<void>): HTMLButtonElement {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", () => void action());
    return button;
  }

  private async restore(item: BackupItem): Promise<void> {
    const world = item.world ?? "";
    const confirmed = await confirmAction({
      title: `Restore ${item.name}?`,
      text: `This replaces the world ${world} with the backup: the game is stopped and started again, and the current files are backed up first.`,
      confirmLabel: "Restore",
      typeToConfirm: world,
    });
    if (!confirmed) return;
    await this.run(() => this.api.backups("POST", `/${item.id}/restore`, { confirm: world }));
  }

  private async download(item: BackupItem): Promise<void> {
    this.progress.textContent = `Downloading ${item.name}…`;
    const blob = await this.api.backupFile(item.id);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = item.name;
    link.click();
    URL.revokeObjectURL(link.href);
    this.progress.textContent = "";
  }

  private async run(action: () => Promise<unknown>): Promise<void> {
    try {
      const answer = (await action()) as { id?: string } | null;
      if (answer !== null && typeof answer.id === "string") await this.follow(answer.id);
      else await this.refresh();
    } catch (error) {
      this.progress.textContent = String(error instanceof Error ? error.message : error);
    }
  }

  private async follow(id: string): Promise<void> {
    for (;;) {
      const job = (await this.api.backups("GET", `/${id}`)) as {
        state: string; step: string; bytes_done: number; bytes_total: number; error: string | null;
        restore: { state: string; step: string; error: string | null } | null;
      };
      const part = job.restore !== null && job.restore.state === "running" ? job.restore : job;
      const share = job.bytes_total > 0 ? ` ${Math.round((100 * job.bytes_done) / job.bytes_total)}%` : "";
      this.progress.textContent = `${id}: ${part.step}${share}`;
      if (part.state !== "running") {
        const failed = job.restore?.state === "failed" ? job.restore.error : job.error;
        this.progress.textContent = failed ? `${id}: ${failed}` : `${id}: ${part.state === "done" ? "done" : part.state}`;
        break;
      }
      await new Promise((resolve) => window.setTimeout(resolve, POLL_MS));
    }
    const body = (await this.api.backups("GET", "")) as { backups: BackupItem[] };
    this.render(body.backups);
  }
}
