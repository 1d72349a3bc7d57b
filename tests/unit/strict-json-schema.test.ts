import { z } from "zod";
import { describe, expect, it } from "vitest";
import { FILM_SCHEMAS } from "../../shared/providers/film-schemas.ts";
import { toStrictJsonSchema } from "../../shared/providers/strict-json-schema.ts";

/** Every object in the schema, however deep. */
function objects(node: unknown, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (node && typeof node === "object") {
    const record = node as Record<string, unknown>;
    if (record.type === "object") found.push(record);
    for (const value of Object.values(record)) objects(value, found);
  }
  return found;
}

describe("strict JSON schemas of the film answers", () => {
  it("require every property and allow no others, at every depth", () => {
    const all = Object.values(FILM_SCHEMAS).flatMap((schema) => objects(toStrictJsonSchema(schema)));
    // plan: root + 3 item objects; bible: root; screenplay: root, scene, header, line, duration, camera.
    expect(all).toHaveLength(11);
    for (const object of all) {
      expect(object.additionalProperties).toBe(false);
      expect(object.required).toEqual(Object.keys(object.properties as object));
    }
  });

  it("keep only keywords strict mode takes", () => {
    const text = JSON.stringify(toStrictJsonSchema(FILM_SCHEMAS.screenplay));
    expect(text).not.toMatch(/minLength|maxLength|\$schema|9007199254740991/);
    expect(text).toContain('"maximum":600');
  });

  it("refuse an optional property instead of silently requiring it", () => {
    expect(() => toStrictJsonSchema(z.object({ a: z.string().optional() }))).toThrow(/optional/);
  });
});
