// Entry point: sign in (or reuse the tab's key), then start the page for the key's role.
import "@xterm/xterm/css/xterm.css";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { startAdmin, startMonitor } from "./app";
import { checkKey, InvalidKey, keyStore, type Role } from "./auth";
import { forgetHistory } from "./history";
import { loadPrefs } from "./prefs";
import { explain, flashSignInMessage, showSignIn } from "./signin";
import { applyTheme } from "./toolbar";

function signOut(message: string): void {
  // Commands typed on a borrowed or shared browser must not outlive the session; on a
  // remembered device the history is the user's own and stays.
  if (!keyStore.isRemembered()) forgetHistory();
  keyStore.clear();
  flashSignInMessage(message);
  // A fresh page is the surest way to drop the socket, timers and every line shown.
  location.reload();
}

function start(key: string, role: Role): void {
  document.getElementById("sign-out")?.addEventListener("click", () => signOut("Signed out."));
  if (role === "admin") {
    startAdmin(key, {
      signOut,
      becomeMonitor: () => location.reload(),
    });
  } else {
    startMonitor(key);
  }
}

async function boot(): Promise<void> {
  // The sign-in card wears the page's theme (the system's, until the user picks one).
  applyTheme(loadPrefs().theme);
  const key = keyStore.load();
  if (key === null) {
    showSignIn(start);
    return;
  }
  try {
    start(key, await checkKey(key));
  } catch (error) {
    if (error instanceof InvalidKey) {
      keyStore.clear();
      showSignIn(start, "The saved key is no longer accepted: sign in again.");
      return;
    }
    showSignIn(start, explain(error));
    const input = document.getElementById("signin-key") as HTMLInputElement;
    input.value = key; // unreachable rather than wrong: let the user retry with one click
  }
}

void boot();
