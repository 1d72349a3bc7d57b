/**
 * Seals short secrets (provider API keys, clone target URLs and Storage keys) for storage in the
 * database. Each value is AES-256-GCM under a key derived per purpose (HKDF-SHA-256 from
 * REELFORGE_ENCRYPTION_KEY with the purpose string as info), with the row it belongs to (table,
 * row id, purpose) as associated data: a sealed value copied to another row, column or purpose
 * does not open. Each sealed value names the master key that sealed it (`kid`), so the master
 * can be rotated: the box opens with the current key or any previous one and always seals with
 * the current one; `npm run secrets:rotate` re-seals what is stored (scripts/secrets-rotate.ts).
 */

/** One string per use of a secret: a key derived for one purpose cannot open another's values. */
export const SECRET_PURPOSES = {
  providerApiKey: "reelforge/provider-api-key/v1",
  cloneTarget: "reelforge/clone-target/v1",
  cloneTargetStorage: "reelforge/clone-target-storage/v1",
} as const;

export type SecretPurpose = typeof SECRET_PURPOSES[keyof typeof SECRET_PURPOSES];

/** Where a sealed value lives; it is authenticated with the value and must match to open it. */
export interface SecretBinding {
  purpose: SecretPurpose;
  /** Schema-qualified table, e.g. "public.api_providers". */
  table: string;
  rowId: string;
}

/** The stored form (JSON in a text/jsonb column). */
// A type, not an interface: it is stored as jsonb (Json in db/client.ts).
export type SealedSecret = {
  v: 2;
  /** Which master key sealed it: keyIdOf(master). */
  kid: string;
  iv: string;
  data: string;
};

/**
 * The first format (before per-purpose keys and row binding): SHA-256 of the master as the key,
 * no associated data. Still opened so a database sealed before the change keeps working; never
 * written; `secrets:rotate` turns every one into a SealedSecret.
 */
export interface LegacySealedSecret {
  v: 1;
  iv: string;
  data: string;
}

export type StoredSecret = SealedSecret | LegacySealedSecret;

export interface SecretBox {
  /** The current master's key id: what seal() writes into `kid`. */
  keyId(): Promise<string>;
  seal(plain: string, binding: SecretBinding): Promise<SealedSecret>;
  /** Throws SecretUnreadableError when no known key opens it, or it was bound elsewhere or altered. */
  open(sealed: StoredSecret, binding: SecretBinding): Promise<string>;
  /** True when the value is in the current format under the current key (nothing for rotation to do). */
  isCurrent(sealed: StoredSecret): Promise<boolean>;
}

/** The master keys a box knows: the current one seals, all of them open. */
export interface SecretKeys {
  current: string;
  previous?: string[];
}

/** A value no configured key opens, or one moved to another row/purpose, or altered. Names no secret. */
export class SecretUnreadableError extends Error {
  constructor(readonly reason: "unknown_key" | "tampered_or_misbound" | "malformed") {
    super(`sealed secret cannot be opened (${reason})`);
    this.name = "SecretUnreadableError";
  }
}

const encoder = new TextEncoder();
const MIN_KEY_LENGTH = 32;
// A fixed salt: the master is already high-entropy; HKDF's info (the purpose) separates the keys.
const HKDF_SALT = encoder.encode("reelforge/secret-box");

/** First 8 hex chars of SHA-256(master): lets an operator see which key sealed what without revealing it. */
export async function keyIdOf(master: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(master)));
  return Array.from(digest.slice(0, 4), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The keys from function config: REELFORGE_ENCRYPTION_KEY seals; REELFORGE_ENCRYPTION_KEY_PREVIOUS
 * (comma-separated, during a rotation) still opens. Null when no key is configured.
 */
export function secretKeysFromEnv(env: Record<string, string | undefined>): SecretKeys | null {
  const current = env.REELFORGE_ENCRYPTION_KEY?.trim();
  if (!current) return null;
  const previous = (env.REELFORGE_ENCRYPTION_KEY_PREVIOUS ?? "").split(",").map((key) => key.trim()).filter(
    Boolean,
  );
  return { current, previous };
}

/** A box for `keys` (a bare string = current key only). */
export function createSecretBox(keys: SecretKeys | string): SecretBox {
  const ring = typeof keys === "string" ? { current: keys, previous: [] } : keys;
  const masters = [ring.current, ...(ring.previous ?? []).filter((key) => key !== ring.current)];
  for (const master of masters) {
    if (master.length < MIN_KEY_LENGTH) {
      throw new Error(`encryption keys must be at least ${MIN_KEY_LENGTH} characters`);
    }
  }
  const byKid = Promise.all(masters.map(async (master) => [await keyIdOf(master), master] as const)).then(
    (entries) => {
      const map = new Map<string, string>();
      for (const [kid, master] of entries) if (!map.has(kid)) map.set(kid, master);
      return map;
    },
  );
  const derived = new Map<string, Promise<CryptoKey>>();
  const currentKid = keyIdOf(ring.current);

  function purposeKey(master: string, kid: string, purpose: SecretPurpose): Promise<CryptoKey> {
    const cacheKey = `${kid}|${purpose}`;
    let key = derived.get(cacheKey);
    if (!key) {
      key = deriveKey(master, purpose);
      derived.set(cacheKey, key);
    }
    return key;
  }

  return {
    keyId: () => currentKid,

    async seal(plain, binding) {
      const kid = await currentKid;
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const data = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: associatedData(binding) },
        await purposeKey(ring.current, kid, binding.purpose),
        encoder.encode(plain),
      );
      return { v: 2, kid, iv: toBase64(iv), data: toBase64(new Uint8Array(data)) };
    },

    async open(sealed, binding) {
      if (!sealed || typeof sealed.iv !== "string" || typeof sealed.data !== "string") {
        throw new SecretUnreadableError("malformed");
      }
      if (sealed.v === 1) return await openLegacy(sealed, masters);
      if (sealed.v !== 2) throw new SecretUnreadableError("malformed");
      const master = (await byKid).get(sealed.kid);
      if (!master) throw new SecretUnreadableError("unknown_key");
      try {
        const plain = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: associatedData(binding) },
          await purposeKey(master, sealed.kid, binding.purpose),
          fromBase64(sealed.data),
        );
        return new TextDecoder().decode(plain);
      } catch {
        throw new SecretUnreadableError("tampered_or_misbound");
      }
    },

    async isCurrent(sealed) {
      return sealed?.v === 2 && sealed.kid === await currentKid;
    },
  };
}

/** Parses a column's JSON into a stored secret (text columns hold it as a string). */
export function parseStoredSecret(value: unknown): StoredSecret {
  const parsed = typeof value === "string" ? JSON.parse(value) : value;
  if (!parsed || typeof parsed !== "object") throw new SecretUnreadableError("malformed");
  return parsed as StoredSecret;
}

async function deriveKey(master: string, purpose: SecretPurpose): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(master), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: encoder.encode(purpose) },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

// JSON of a fixed-order array: unambiguous whatever characters the parts hold.
function associatedData(binding: SecretBinding): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify(["reelforge-secret", binding.purpose, binding.table, binding.rowId]));
}

async function openLegacy(sealed: LegacySealedSecret, masters: string[]): Promise<string> {
  for (const master of masters) {
    const digest = await crypto.subtle.digest("SHA-256", encoder.encode(master));
    const key = await crypto.subtle.importKey("raw", digest, "AES-GCM", false, ["decrypt"]);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(sealed.iv) },
        key,
        fromBase64(sealed.data),
      );
      return new TextDecoder().decode(plain);
    } catch {
      // another key may have sealed it
    }
  }
  throw new SecretUnreadableError("unknown_key");
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    throw new SecretUnreadableError("malformed");
  }
}

/** The box function config asks for, or null without REELFORGE_ENCRYPTION_KEY. */
export function secretBoxFromConfig(config: {
  REELFORGE_ENCRYPTION_KEY?: string;
  REELFORGE_ENCRYPTION_KEY_PREVIOUS?: string;
}): SecretBox | null {
  const keys = secretKeysFromEnv(config);
  return keys ? createSecretBox(keys) : null;
}
