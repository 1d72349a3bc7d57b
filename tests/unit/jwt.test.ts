import { describe, expect, it } from "vitest";
import { createJwtVerifier } from "../../shared/auth/verify-jwt.ts";
import { generateSigningKey, publicJwkOf, signEs256Jwt, signJwt } from "../../scripts/stack/jwt.ts";

const secret = "super-secret-jwt-token-with-at-least-32-characters-long";

describe("stack JWTs", () => {
  it("reproduces Supabase's local demo anon key from the default secret", async () => {
    expect(await signJwt({ iss: "supabase-demo", role: "anon", exp: 1983812996 }, secret)).toBe(
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0",
    );
  });

  it("signs ES256 tokens naming their key that the functions' verifier accepts with the published JWK", async () => {
    const key = await generateSigningKey();
    const token = await signEs256Jwt({ role: "anon", exp: Math.floor(Date.now() / 1000) + 60 }, key);
    expect(JSON.parse(atob(token.split(".")[0]))).toEqual({ alg: "ES256", kid: key.kid, typ: "JWT" });
    expect(publicJwkOf(key)).not.toHaveProperty("d");
    const verify = createJwtVerifier({
      jwks: { find: async (kid) => kid === key.kid ? publicJwkOf(key) : undefined },
      issuers: [],
    });
    expect((await verify(token)).role).toBe("anon");
  });
});
