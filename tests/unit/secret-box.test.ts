import { describe, expect, it } from "vitest";
import { createSecretBox } from "../../shared/crypto/secret-box.ts";

const key = "k".repeat(40);

describe("secret box", () => {
  it("opens what it sealed and never stores the plain text", async () => {
    const box = createSecretBox(key);
    const sealed = await box.seal("postgresql://u:hunter2@db.example.com/postgres");
    expect(JSON.stringify(sealed)).not.toContain("hunter2");
    expect(await box.open(sealed)).toBe("postgresql://u:hunter2@db.example.com/postgres");
  });

  it("seals the same value differently each time", async () => {
    const box = createSecretBox(key);
    expect((await box.seal("same")).data).not.toBe((await box.seal("same")).data);
  });

  it("refuses to open with another key or after tampering", async () => {
    const sealed = await createSecretBox(key).seal("secret");
    await expect(createSecretBox("x".repeat(40)).open(sealed)).rejects.toThrow();
    const tampered = { ...sealed, data: sealed.data.slice(0, -4) + (sealed.data.endsWith("AAAA") ? "BBBB" : "AAAA") };
    await expect(createSecretBox(key).open(tampered)).rejects.toThrow();
  });
});
