import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  fingerprint,
  loadOrCreateSecretsFile,
  readSecretsFile,
} from "../../scripts/deploy/deploy-secrets.ts";

describe("the deploy's secrets file", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "deploy-secrets-"));
    file = join(dir, ".deploy", "abcdefghijklmnopqrst.env");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is generated once, mode 600, and kept as it is on every later run", async () => {
    const made = await loadOrCreateSecretsFile(file, new Set());
    expect(made.generated).toEqual(["REELFORGE_INTERNAL_SECRET", "REELFORGE_ENCRYPTION_KEY"]);
    expect(made.secrets.REELFORGE_INTERNAL_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(made.secrets.REELFORGE_ENCRYPTION_KEY).not.toBe(made.secrets.REELFORGE_INTERNAL_SECRET);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, "utf8");

    const again = await loadOrCreateSecretsFile(
      file,
      new Set(["REELFORGE_ENCRYPTION_KEY", "REELFORGE_INTERNAL_SECRET"]),
    );
    expect(again).toEqual({ secrets: made.secrets, generated: [] });
    expect(await readFile(file, "utf8")).toBe(text);
    expect(await readSecretsFile(file)).toEqual(made.secrets);
  });

  it("adds only what the file lacks, keeping the operator's own lines", async () => {
    await loadOrCreateSecretsFile(file, new Set());
    await writeFile(file, '# mine\nREELFORGE_ENCRYPTION_KEY="kept-key"\n');
    const { secrets, generated } = await loadOrCreateSecretsFile(file, new Set());
    expect(generated).toEqual(["REELFORGE_INTERNAL_SECRET"]);
    expect(secrets.REELFORGE_ENCRYPTION_KEY).toBe("kept-key");
    expect(await readFile(file, "utf8")).toMatch(
      /^# mine\nREELFORGE_ENCRYPTION_KEY="kept-key"\nREELFORGE_INTERNAL_SECRET=[0-9a-f]{64}\n$/,
    );
  });

  it("never makes up an encryption key the project already has: sealed secrets would be lost", async () => {
    await expect(loadOrCreateSecretsFile(file, new Set(["REELFORGE_ENCRYPTION_KEY"]))).rejects.toThrow(
      /already has REELFORGE_ENCRYPTION_KEY/,
    );
    await expect(stat(file)).rejects.toThrow();
  });

  it("names values by a fingerprint that does not contain them", () => {
    const secret = "a".repeat(64);
    expect(fingerprint(secret)).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(fingerprint(secret)).not.toContain(secret.slice(0, 12));
    expect(fingerprint(secret)).toBe(fingerprint(secret));
  });
});
