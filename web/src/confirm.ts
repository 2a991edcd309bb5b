// A modal confirmation for actions that stop the game (Stop, Restart, "/stop") or replace
// the world (a backup's restore: the admin types the world's name first).
// Uses the page's <dialog>: focus is trapped while open and Escape cancels.

export interface Confirmation {
  readonly title: string;
  readonly text: string;
  readonly confirmLabel: string;
  /** When set, the confirm button stays disabled until exactly this is typed. */
  readonly typeToConfirm?: string;
}

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

export function confirmAction({ title, text, confirmLabel, typeToConfirm }: Confirmation): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>("confirm");
  byId("confirm-title").textContent = title;
  byId("confirm-text").textContent = text;
  const ok = byId<HTMLButtonElement>("confirm-ok");
  ok.textContent = confirmLabel;
  const typed = byId<HTMLInputElement>("confirm-typed");
  const wanted = typeToConfirm ?? null;
  prepareTyped(typed, wanted);
  ok.disabled = wanted !== null;
  const onInput = (): void => {
    ok.disabled = typed.value !== wanted;
  };
  // Enter in the field would submit with the form's first button (Cancel): confirm only
  // when the name matches, else stay.
  const onKey = (event: KeyboardEvent): void => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (!ok.disabled) dialog.close("ok");
  };
  if (wanted !== null) {
    typed.addEventListener("input", onInput);
    typed.addEventListener("keydown", onKey);
  }
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.returnValue = "cancel";
    dialog.addEventListener(
      "close",
      () => {
        typed.removeEventListener("input", onInput);
        typed.removeEventListener("keydown", onKey);
        const confirmed = dialog.returnValue === "ok" && (wanted === null || typed.value === wanted);
        ok.disabled = false;
        if (opener instanceof HTMLElement) opener.focus();
        resolve(confirmed);
      },
      { once: true },
    );
    dialog.showModal();
    // Cancel has the focus: Enter on a dangerous dialog must not confirm by accident.
    if (wanted !== null) typed.focus();
    else byId<HTMLButtonElement>("confirm-cancel").focus();
  });
}

function prepareTyped(typed: HTMLInputElement, wanted: string | null): void {
  const row = byId("confirm-typed-row");
  row.hidden = wanted === null;
  typed.value = "";
  if (wanted === null) return;
  const label = byId("confirm-typed-label");
  const name = document.createElement("code");
  name.textContent = wanted;
  label.replaceChildren("Type ", name, " to confirm");
}
