import { describe, expect, it } from "vitest";
import { signJwt, verifyJwt } from "../../scripts/stack/jwt.ts";

const secret = "super-secret-jwt-token-with-at-least-32-characters-long";
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

describe("stack JWTs", () => {
  it("reproduces Supabase's local demo anon key from the default secret", async () => {
    expect(await signJwt({ iss: "supabase-demo", role: "anon", exp: 1983812996 }, secret)).toBe(
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0",
    );
  });

  it("returns the payload of a token it signed", async () => {
    const payload = { sub: "user-1", role: "authenticated", exp: inOneHour() };
    expect(await verifyJwt(await signJwt(payload, secret), secret)).toEqual(payload);
  });

  it("rejects a token signed with another secret", async () => {
    const token = await signJwt({ role: "anon", exp: inOneHour() }, "another-secret-another-secret-another");
    await expect(verifyJwt(token, secret)).rejects.toThrow(/signature/);
  });

  it("rejects a token whose payload was changed after signing", async () => {
    const [header, , signature] = (await signJwt({ role: "anon", exp: inOneHour() }, secret)).split(".");
    const forged = btoa(JSON.stringify({ role: "service_role", exp: inOneHour() })).replace(/=+$/, "");
    await expect(verifyJwt(`${header}.${forged}.${signature}`, secret)).rejects.toThrow(/signature/);
  });

  it("rejects an expired token", async () => {
    const token = await signJwt({ role: "anon", exp: Math.floor(Date.now() / 1000) - 1 }, secret);
    await expect(verifyJwt(token, secret)).rejects.toThrow(/expired/);
  });

  it("rejects unsigned and malformed tokens", async () => {
    const none = `${btoa(JSON.stringify({ alg: "none" }))}.${btoa(JSON.stringify({ role: "anon" }))}.`;
    await expect(verifyJwt(none.replace(/=/g, ""), secret)).rejects.toThrow(/alg/);
    await expect(verifyJwt("only.two", secret)).rejects.toThrow(/malformed/);
  });
});
