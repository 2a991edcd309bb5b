// A modal confirmation for actions that stop the game (Stop, Restart, "/stop").
// Uses the page's <dialog>: focus is trapped while open and Escape cancels.

export interface Confirmation {
  readonly title: string;
  readonly text: string;
  readonly confirmLabel: string;
}

export function confirmAction({ title, text, confirmLabel }: Confirmation): Promise<boolean> {
  const dialog = document.getElementById("confirm") as HTMLDialogElement;
  (document.getElementById("confirm-title") as HTMLElement).textContent = title;
  (document.getElementById("confirm-text") as HTMLElement).textContent = text;
  const ok = document.getElementById("confirm-ok") as HTMLButtonElement;
  ok.textContent = confirmLabel;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.returnValue = "cancel";
    dialog.addEventListener(
      "close",
      () => {
        if (opener instanceof HTMLElement) opener.focus();
        resolve(dialog.returnValue === "ok");
      },
      { once: true },
    );
    dialog.showModal();
    // Cancel has the focus: Enter on a dangerous dialog must not confirm by accident.
    (document.getElementById("confirm-cancel") as HTMLButtonElement).focus();
  });
}
