import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  cloneTargetBinding,
  cloneTargetStorageBinding,
  providerKeyBinding,
} from "../../shared/crypto/secret-bindings.ts";
import {
  createSecretBox,
  keyIdOf,
  type SealedSecret,
  secretKeysFromEnv,
  SecretUnreadableError,
} from "../../shared/crypto/secret-box.ts";

const keyA = "a".repeat(40);
const keyB = "b".repeat(40);
const rowId = "6f1c2d3e-0000-4000-8000-000000000001";
const otherRow = "6f1c2d3e-0000-4000-8000-000000000002";
const url = "postgresql://u:hunter2@db.example.com/postgres";

/** The first format (SHA-256 of the master as key, no associated data), as rows sealed before v2 hold it. */
async function legacySeal(master: string, plain: string) {
  const digest = createHash("sha256").update(master).digest();
  const key = await crypto.subtle.importKey("raw", digest, "AES-GCM", false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(plain)),
  );
  return {
    v: 1 as const,
    iv: Buffer.from(iv).toString("base64"),
    data: Buffer.from(data).toString("base64"),
  };
}

describe("secret box", () => {
  it("opens what it sealed for the same row and purpose, and never stores the plain text", async () => {
    const box = createSecretBox(keyA);
    const sealed = await box.seal(url, cloneTargetBinding(rowId));
    expect(JSON.stringify(sealed)).not.toContain("hunter2");
    expect(sealed).toMatchObject({ v: 2, kid: await keyIdOf(keyA) });
    expect(await box.open(sealed, cloneTargetBinding(rowId))).toBe(url);
  });

  it("seals the same value differently each time", async () => {
    const box = createSecretBox(keyA);
    expect((await box.seal("same", providerKeyBinding(rowId))).data).not.toBe(
      (await box.seal("same", providerKeyBinding(rowId))).data,
    );
  });

  it("refuses a value copied to another row, another purpose or another table", async () => {
    const box = createSecretBox(keyA);
    const sealed = await box.seal(url, cloneTargetBinding(rowId));
    await expect(box.open(sealed, cloneTargetBinding(otherRow))).rejects.toThrow(SecretUnreadableError);
    await expect(box.open(sealed, cloneTargetStorageBinding(rowId))).rejects.toThrow(SecretUnreadableError);
    await expect(box.open(sealed, { ...cloneTargetBinding(rowId), table: "public.movies" })).rejects.toThrow(
      SecretUnreadableError,
    );
  });

  it("refuses a tampered value and one sealed under a key it does not know", async () => {
    const box = createSecretBox(keyA);
    const sealed = await box.seal("secret", providerKeyBinding(rowId));
    const flipped = Buffer.from(sealed.data, "base64");
    flipped[0] ^= 1;
    await expect(box.open({ ...sealed, data: flipped.toString("base64") }, providerKeyBinding(rowId))).rejects
      .toThrow(/tampered_or_misbound/);
    await expect(createSecretBox(keyB).open(sealed, providerKeyBinding(rowId))).rejects.toThrow(
      /unknown_key/,
    );
    // A forged kid pointing at a known key still fails authentication.
    const underB = await createSecretBox(keyB).seal("secret", providerKeyBinding(rowId));
    await expect(box.open({ ...underB, kid: sealed.kid }, providerKeyBinding(rowId))).rejects.toThrow(
      /tampered_or_misbound/,
    );
  });

  it("names the sealing key by the first 8 hex digits of its SHA-256", async () => {
    expect(await keyIdOf(keyA)).toBe(createHash("sha256").update(keyA).digest("hex").slice(0, 8));
    expect(await createSecretBox({ current: keyB, previous: [keyA] }).keyId()).toBe(await keyIdOf(keyB));
  });

  it("keeps opening the previous key's values during a rotation and seals new ones under the current key", async () => {
    const binding = providerKeyBinding(rowId);
    const underA = await createSecretBox(keyA).seal("sk-live", binding);
    const rotating = createSecretBox({ current: keyB, previous: [keyA] });
    expect(await rotating.open(underA, binding)).toBe("sk-live");
    expect(await rotating.isCurrent(underA)).toBe(false);
    const resealed = await rotating.seal("sk-live", binding);
    expect(await rotating.isCurrent(resealed)).toBe(true);
    expect(await createSecretBox(keyB).open(resealed, binding)).toBe("sk-live");
  });

  it("opens the first format with the current or a previous key, and reports it as needing a re-seal", async () => {
    const legacy = await legacySeal(keyA, url);
    const box = createSecretBox({ current: keyB, previous: [keyA] });
    expect(await box.open(legacy, cloneTargetBinding(rowId))).toBe(url);
    expect(await box.isCurrent(legacy)).toBe(false);
    await expect(createSecretBox(keyB).open(legacy, cloneTargetBinding(rowId))).rejects.toThrow(
      /unknown_key/,
    );
  });

  it("refuses malformed values with a SecretUnreadableError that holds no secret", async () => {
    const box = createSecretBox(keyA);
    const error = await box.open({ v: 3 } as unknown as SealedSecret, providerKeyBinding(rowId)).catch((e) =>
      e
    );
    expect(error).toBeInstanceOf(SecretUnreadableError);
  });

  it("reads the current and previous keys from config, previous as a comma-separated list", () => {
    expect(secretKeysFromEnv({})).toBeNull();
    expect(
      secretKeysFromEnv({
        REELFORGE_ENCRYPTION_KEY: keyB,
        REELFORGE_ENCRYPTION_KEY_PREVIOUS: ` ${keyA} , ${"c".repeat(40)}`,
      }),
    )
      .toEqual({ current: keyB, previous: [keyA, "c".repeat(40)] });
    expect(() => createSecretBox({ current: keyB, previous: ["short"] })).toThrow(/at least 32/);
  });
});
