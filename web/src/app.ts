// The signed-in page: an admin gets the live console; a Monitor key gets the status only.
import { ApiClient, ApiError } from "./api";
import { BackupsPanel } from "./backups";
import { AutomationPanel, type AutomationElements } from "./automation";
import { CommandBar } from "./commandbar";
import { CountdownBanner, type CountdownElements } from "./countdown";
import { ConsoleConnection, CredentialRefused, type ConnectionState, type Credential } from "./connection";
import { statusFacts } from "./frames";
import { LastRunBanner, type LastRunElements } from "./lastrun";
import { LevelSwitch } from "./levels";
import { PlayerMenu, type PlayerMenuElements } from "./playermenu";
import { formatTime } from "./render";
import { RunMarks } from "./runmarks";
import { ResourceStrip, type StripElements } from "./strip";
import { CommandHistory } from "./history";
import { ConnectionIndicator } from "./indicator";
import { loadPrefs } from "./prefs";
import { SearchBar } from "./search";
import { ServerBar, type ServerBarElements } from "./serverbar";
import { ConsoleView } from "./terminal";
import { installMonitorTestHook, installTestHook } from "./testhook";
import { applyTheme, Toolbar } from "./toolbar";
import { EMPTY_VOCABULARY } from "./vocabulary";

const MONITOR_POLL_MS = 2000;
const HISTORY_MAX = 10_000; // the most the socket's history_lines is worth asking for

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
}

function serverBarElements(): ServerBarElements {
  return {
    state: byId("server-state"),
    detail: byId("server-detail"),
    actions: byId("server-actions"),
    start: byId("server-start"),
    stop: byId("server-stop"),
    restart: byId("server-restart"),
    message: byId("server-message"),
  };
}

function stripElements(): StripElements {
  return {
    strip: byId("strip"),
    toggle: byId("strip-toggle"),
    summary: byId("strip-summary"),
    body: byId("strip-body"),
    charts: byId("strip-charts"),
    cpu: byId("chart-cpu"),
    memory: byId("chart-memory"),
    players: byId("chart-players"),
    lines: byId("chart-lines"),
    playerCount: byId("players-count"),
    playerList: byId("players-list"),
    playerSection: byId("players"),
  };
}

function lastRunElements(): LastRunElements {
  return {
    banner: byId("run-banner"),
    text: byId("run-banner-text"),
    read: byId("run-banner-read"),
    dismiss: byId("run-banner-dismiss"),
    dialog: byId("run-output"),
    title: byId("run-output-title"),
    output: byId("run-output-text"),
  };
}

function countdownElements(): CountdownElements {
  return { banner: byId("countdown-banner"), text: byId("countdown-text"), skip: byId("countdown-skip"), now: byId("countdown-now") };
}

function automationElements(): AutomationElements {
  return {
    details: byId("automation-details"),
    summary: byId("automation-summary"),
    rows: byId("schedules-rows"),
    message: byId("schedules-message"),
    form: byId("schedule-form"),
    preview: byId("schedule-preview"),
    targets: byId("targets-list"),
  };
}

function playerMenuElements(): PlayerMenuElements {
  return {
    dialog: byId("player-menu"),
    title: byId("player-menu-title"),
    actions: byId("player-actions"),
    confirm: byId("player-confirm"),
    explain: byId("player-explain"),
    textLabel: byId("player-text-label"),
    text: byId("player-text"),
    command: byId("player-command"),
    error: byId("player-error"),
    cancel: byId("player-cancel"),
    send: byId("player-send"),
  };
}

/** A fresh single-use ticket for each connection attempt: the key never goes into a URL. */
async function credentialFor(api: ApiClient, key: string): Promise<Credential> {
  let ticket: string | null;
  try {
    ticket = await api.ticket();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      throw new CredentialRefused(error.status);
    }
    throw error;
  }
  // A vsmanager older than tickets only takes the key (it redacts it from its logs).
  return ticket === null ? { apiKey: key } : { ticket };
}

export interface Page {
  readonly signOut: (message: string) => void;
  readonly becomeMonitor: () => void;
}

export function startAdmin(key: string, page: Page): void {
  const prefs = loadPrefs();
  applyTheme(prefs.theme);
  byId("app").hidden = false;
  byId("console").hidden = false;

  const api = new ApiClient(key);
  const view = new ConsoleView(byId("terminal"), prefs);
  const serverBar = new ServerBar(serverBarElements(), api);
  const indicator = new ConnectionIndicator(byId("connection"), byId("reconnect-now"));
  const search = new SearchBar(
    {
      bar: byId("searchbar"),
      input: byId("search-input"),
      count: byId("search-count"),
      prev: byId("search-prev"),
      next: byId("search-next"),
      close: byId("search-close"),
    },
    view,
    prefs.theme,
  );
  const toolbar = new Toolbar(view, search, api, prefs);
  const levels = new LevelSwitch({ toggle: byId("tool-levels"), legend: byId("levels-legend") }, prefs, (classifier) =>
    view.setLevels(classifier),
  );
  const lastRun = new LastRunBanner(lastRunElements(), api, () => ({ vocabulary: levels.vocabulary, levels: levels.isOn }));
  const countdown = new CountdownBanner(countdownElements(), api);
  new AutomationPanel(automationElements(), api, true).start();
  const runMarks = new RunMarks(formatTime);

  let connectionState: ConnectionState = { kind: "idle" };
  const commandBar = new CommandBar(
    {
      form: byId("commandbar"),
      input: byId("command-input"),
      button: byId("command-send"),
      hint: byId("command-hint"),
    },
    new CommandHistory(),
    async (command) => {
      // What is sent is answered at the bottom: bring the newest line into view, so the
      // echo (or the refusal) is seen even when the admin had scrolled up to read.
      view.jumpToLatest();
      try {
        // REST rather than the socket: its answer says whether *this* command was refused.
        await api.command(command);
      } catch (error) {
        throw new Error(error instanceof ApiError ? error.message : String(error));
      }
    },
    (command, reason) => view.appendNote(`✖ ${command} was refused: ${reason}`, "error"),
  );
  // Why commands (typed, or a player's actions) cannot be sent now; null when they can.
  const unavailable = (): string | null => {
    if (serverBar.isStale || connectionState.kind !== "connected") return "Not connected to vsmanager: commands are off until it reconnects.";
    if (serverBar.state !== "running") return `The server is ${serverBar.state ?? "in an unknown state"}: commands are off until it is running.`;
    return null;
  };
  const updateCommandBar = (): void => commandBar.setUnavailable(unavailable());

  let vocabulary = EMPTY_VOCABULARY;
  const playerMenu = new PlayerMenu(playerMenuElements(), {
    actions: () => vocabulary.playerActions,
    unavailable,
    send: (command) => commandBar.run(command).catch((error: unknown) => view.appendNote(`✖ ${command}: ${String(error)}`, "error")),
    insert: (name) => commandBar.insert(name),
  });
  const strip = new ResourceStrip(stripElements(), api, (name) => playerMenu.open(name));
  strip.start();
  // How the game's lines read and its player commands (best effort: without them the page
  // shows plain lines, and a player's menu only fills the command bar).
  void api
    .vocabulary()
    .then((known) => {
      vocabulary = known;
      levels.setVocabulary(known);
    })
    .catch(() => undefined);
  byId("backups").hidden = false;
  new BackupsPanel(api, byId("backup-list"), byId("backup-progress"), byId("backup-create") as HTMLButtonElement).start();

  const connection = new ConsoleConnection(
    {
      credential: async () => {
        // Where each run begins, for the history about to come (best effort: a server
        // without runs, or a failure, only costs the marks). Asked first, so the ticket
        // is as fresh as can be when the socket opens.
        const runs = await api.runs().catch(() => null);
        if (runs !== null) {
          runMarks.learn(runs.runs);
          strip.learnRuns(runs.runs);
        }
        return credentialFor(api, key);
      },
      historyLines: Math.min(prefs.scrollback, HISTORY_MAX),
    },
    {
      onLines: (lines) => {
        // A frame's lines (seqs ascending) go in whole, split only where a run begins.
        const first = lines[0]?.seq ?? 0;
        let from = 0;
        for (const mark of runMarks.within(first, lines[lines.length - 1]?.seq ?? 0)) {
          let at = from;
          while (at < lines.length && (lines[at]?.seq ?? 0) < mark.seq) at++;
          view.appendLines(lines.slice(from, at));
          view.appendRunMark(mark.text);
          from = at;
        }
        view.appendLines(from === 0 ? lines : lines.slice(from));
      },
      onGap: (gap) => view.appendGap(gap),
      onStatus: (status) => {
        const facts = statusFacts(status);
        const mark = runMarks.onStatus(facts.run, status.started_at, facts.runFirstSeq, connection.lastSeen);
        if (mark !== null) view.appendRunMark(mark);
        serverBar.update(status);
        lastRun.update(status);
        countdown.update(status);
        strip.update(status);
        updateCommandBar();
      },
      onReset: (_message, code) => {
        runMarks.reset();
        view.reset(
          code === "console_restarted"
            ? "— vsmanager restarted; the console starts again —"
            : "— vsmanager restarted: its console starts afresh below —",
        );
      },
      onServerError: (code, message) => view.appendNote(`vsmanager: ${message} (${code})`, "error"),
      onState: (state) => {
        connectionState = state;
        indicator.show(state);
        if (state.kind === "waiting" || state.kind === "signed-out" || state.kind === "closed") serverBar.markStale();
        if (state.kind === "signed-out") {
          // The reason is the server's ("key revoked"): shown as text, never as markup.
          const why = state.reason === undefined ? "" : ` (vsmanager says: ${state.reason.slice(0, 120)})`;
          page.signOut(`Your key is no longer accepted${why}: sign in again.`);
        }
        if (state.kind === "forbidden") page.becomeMonitor();
        updateCommandBar();
      },
    },
  );

  byId("reconnect-now").addEventListener("click", () => connection.reconnectNow());
  window.addEventListener("online", () => connection.reconnectNow());
  const jump = byId<HTMLButtonElement>("jump-latest");
  jump.addEventListener("click", () => view.jumpToLatest());
  view.onFollowChange = (following) => {
    jump.hidden = following;
  };

  // Ctrl+F anywhere on the page opens our search rather than the browser's, which cannot
  // see the terminal's scrollback (it is not in the DOM).
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "f") {
      event.preventDefault();
      search.open();
    }
  });
  view.term.attachCustomKeyEventHandler((event) => {
    if (event.type !== "keydown") return true;
    // The terminal is read-only: let Tab move the focus on, so keyboard users are not trapped.
    if (event.key === "Tab") return false;
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && event.key.toLowerCase() === "c" && view.term.hasSelection()) {
      void toolbar.copy();
      return false;
    }
    if (ctrl && event.key.toLowerCase() === "f") return false; // the document handler opens search
    if (event.key === "Escape" && search.isOpen) {
      search.close();
      return false;
    }
    return true;
  });

  installTestHook(view, connection, strip, levels);
  connection.start();
  commandBar.focus();
}

export function startMonitor(key: string): void {
  const prefs = loadPrefs();
  applyTheme(prefs.theme);
  byId("app").hidden = false;
  byId("app").classList.add("monitor");
  byId("console").hidden = true;
  byId("monitor-note").hidden = false;
  const api = new ApiClient(key);
  const serverBar = new ServerBar(serverBarElements(), null);
  const indicator = new ConnectionIndicator(byId("connection"), byId("reconnect-now"));
  const lastRun = new LastRunBanner(lastRunElements(), null);
  const countdown = new CountdownBanner(countdownElements(), null);
  new AutomationPanel(automationElements(), api, false).start();
  const strip = new ResourceStrip(stripElements(), api, null);
  strip.start();
  installMonitorTestHook(strip);
  // A Monitor key cannot open the console socket, so its status comes from polling.
  const poll = async (): Promise<void> => {
    try {
      const status = await api.status();
      serverBar.update(status);
      lastRun.update(status);
      countdown.update(status);
      strip.update(status);
      indicator.showPolling(true);
    } catch {
      serverBar.markStale();
      indicator.showPolling(false);
    }
    window.setTimeout(() => void poll(), MONITOR_POLL_MS);
  };
  void poll();
}
