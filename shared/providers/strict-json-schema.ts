/**
 * A zod object schema as the JSON schema OpenAI-style strict structured outputs accept: every
 * property required, no extra properties, and only the keywords strict mode supports (string
 * lengths are dropped; zod still checks them when the answer is parsed).
 */
import { z } from "zod";

const KEPT_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "anyOf",
  "description",
  "pattern",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
]);

type JsonSchema = Record<string, unknown>;

export function toStrictJsonSchema(schema: z.ZodType): JsonSchema {
  const generated = z.toJSONSchema(schema, { io: "output", unrepresentable: "throw" }) as JsonSchema;
  return strictNode(generated, "$");
}

function strictNode(node: JsonSchema, path: string): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (!KEPT_KEYWORDS.has(key)) continue;
    // zod bounds every int by Number.MAX_SAFE_INTEGER: noise to a model, not a rule.
    if ((key === "minimum" || key === "maximum") && Math.abs(value as number) >= Number.MAX_SAFE_INTEGER) {
      continue;
    }
    out[key] = value;
  }
  if (node.type === "object") {
    const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
    const names = Object.keys(properties);
    const required = new Set((node.required ?? []) as string[]);
    const optional = names.filter((name) => !required.has(name));
    if (optional.length) {
      throw new Error(
        `strict schema: ${path} has optional properties (${optional.join(", ")}); use .nullable()`,
      );
    }
    out.properties = Object.fromEntries(
      names.map((name) => [name, strictNode(properties[name], `${path}.${name}`)]),
    );
    out.required = names;
    out.additionalProperties = false;
  }
  if (node.items) out.items = strictNode(node.items as JsonSchema, `${path}[]`);
  if (node.anyOf) {
    out.anyOf = (node.anyOf as JsonSchema[]).map((option, i) => strictNode(option, `${path}|${i}`));
  }
  return out;
}
