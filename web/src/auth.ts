// Signing in: check a key against the API, learn its role, keep it for the tab.
// The key lives in sessionStorage (this tab only) unless the user asks to be remembered on
// this device; it never appears in the page's URL.
import { ApiClient, ApiError } from "./api";

export type Role = "admin" | "monitor";

const STORAGE_KEY = "vsmanager.apiKey";

export class InvalidKey extends Error {
  constructor() {
    super("That API key is not valid for this vsmanager.");
    this.name = "InvalidKey";
  }
}

export const keyStore = {
  load(): string | null {
    return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
  },
  save(key: string, remember: boolean): void {
    sessionStorage.setItem(STORAGE_KEY, key);
    if (remember) localStorage.setItem(STORAGE_KEY, key);
    else localStorage.removeItem(STORAGE_KEY);
  },
  /** True when the user chose "Remember on this device" for the key in use. */
  isRemembered(): boolean {
    return localStorage.getItem(STORAGE_KEY) !== null;
  },
  clear(): void {
    sessionStorage.removeItem(STORAGE_KEY);
    localStorage.removeItem(STORAGE_KEY);
  },
};

/** The key's role; throws InvalidKey, or ServerUnreachable / ApiError for anything else. */
export async function checkKey(key: string): Promise<Role> {
  const api = new ApiClient(key);
  try {
    await api.status();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw new InvalidKey();
    throw error;
  }
  // Status is open to both roles; the console history only to admins.
  try {
    await api.history({ lines: 1 });
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return "monitor";
    throw error;
  }
  return "admin";
}
