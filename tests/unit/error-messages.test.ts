/** How error messages name what a caller sent: wrong type against missing, long values cut. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { quoted } from "../../shared/errors.ts";
import { parseInput, requiredAs } from "../../shared/http/read-body.ts";

const schema = z.object({ size: z.number({ error: requiredAs("size", "a number") }) }).strict();
const problem = (input: unknown) => {
  try {
    parseInput(schema, input);
  } catch (error) {
    return (error as Error).message;
  }
  return null;
};

describe("error messages", () => {
  it("say a field is required only when it is missing, and otherwise what it was sent as", () => {
    expect(problem({})).toBe("Invalid request: size: size is required (a number)");
    expect(problem({ size: "1" })).toBe("Invalid request: size: size must be a number, not a string");
    expect(problem({ size: null })).toBe("Invalid request: size: size must be a number, not null");
    expect(problem({ size: [1] })).toBe("Invalid request: size: size must be a number, not an array");
    expect(problem({ size: { n: 1 } })).toBe("Invalid request: size: size must be a number, not an object");
    expect(problem({ size: Infinity })).toBe(
      "Invalid request: size: size must be a number, not a number out of range",
    );
    expect(problem({ size: 1 })).toBeNull();
  });

  it("quote a value whole when short, cut with its length when long", () => {
    expect(quoted("render")).toBe('"render"');
    expect(quoted("x".repeat(200_000))).toBe(`"${"x".repeat(80)}…" (200000 characters)`);
    expect(quoted("abcdef", 3)).toBe('"abc…" (6 characters)');
  });
});
