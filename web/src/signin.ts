// The sign-in form: paste a key, learn at once whether it works and what it may do.
import { isDemo, ServerUnreachable } from "./api";
import { checkKey, InvalidKey, keyStore, type Role } from "./auth";

const FLASH_KEY = "vsmanager.signinMessage";

/** Leaves a message for the sign-in form across a page reload (e.g. "signed out"). */
export function flashSignInMessage(text: string): void {
  sessionStorage.setItem(FLASH_KEY, text);
}

export function explain(error: unknown): string {
  if (error instanceof InvalidKey) return error.message;
  if (error instanceof ServerUnreachable) return "vsmanager is unreachable. Is it running? Try again in a moment.";
  return `Sign-in failed: ${error instanceof Error ? error.message : String(error)}`;
}

export function showSignIn(onSignedIn: (key: string, role: Role) => void, message = ""): void {
  const main = document.getElementById("signin") as HTMLElement;
  const form = document.getElementById("signin-form") as HTMLFormElement;
  const input = document.getElementById("signin-key") as HTMLInputElement;
  const remember = document.getElementById("signin-remember") as HTMLInputElement;
  const submit = document.getElementById("signin-submit") as HTMLButtonElement;
  const error = document.getElementById("signin-error") as HTMLElement;
  const flash = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  error.textContent = message || flash || "";
  error.dataset["tone"] = flash !== null && message === "" ? "info" : "error";
  main.hidden = false;
  input.focus();
  // Only the demo's keys were printed by `vsmanager demo`: a real install says nothing of it.
  const demoHint = document.getElementById("signin-demo") as HTMLElement;
  void isDemo().then((demo) => {
    demoHint.hidden = !demo;
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === "") {
      error.textContent = "Paste an API key first.";
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    checkKey(key)
      .then((role) => {
        keyStore.save(key, remember.checked);
        input.value = "";
        main.hidden = true;
        onSignedIn(key, role);
      })
      .catch((failure: unknown) => {
        error.dataset["tone"] = "error";
        error.textContent = explain(failure);
        input.select();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
}
