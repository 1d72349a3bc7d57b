import type { Context } from "hono";
import { z } from "zod";
import { BadRequestError } from "../errors.ts";

/** Parses the request body as a JSON object, or answers 400 naming what is wrong with it. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (!text.trim()) throw new BadRequestError("invalid_json", "Request body is empty; send a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new BadRequestError("invalid_json", "Request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Validates input with a zod schema; failures name each offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.join(".") || "(body)",
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  throw new BadRequestError("invalid_request", `Invalid request: ${summary}`, issues);
}
