import type { Context } from "hono";
import { z } from "zod";
import { AppError, BadRequestError } from "../errors.ts";

/** The largest request body any function accepts; every action's input fits far below it. */
export const MAX_BODY_BYTES = 256 * 1024;

/** A body over MAX_BODY_BYTES, refused before it is parsed (or even read to the end). */
export class BodyTooLargeError extends AppError {
  constructor(limit: number) {
    super("body_too_large", 413, `Request body is larger than ${limit / 1024} KiB`);
  }
}

/**
 * The request body as text, refused with 413 past `limit` bytes: by Content-Length before reading,
 * and by counting while streaming when there is none (chunked) or it lies.
 */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new BodyTooLargeError(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // Decoded leniently, the bad bytes became U+FFFD, stored in place of what was sent.
    throw new BadRequestError("invalid_json", "Request body is not valid UTF-8; send JSON encoded as UTF-8");
  }
}

/** Parses the request body as a JSON object, or answers 400 naming what is wrong with it (413 when too large). */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await readBodyText(c.req.raw);
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
  const problem = unstorablePart(value);
  if (problem) {
    throw new BadRequestError("invalid_request", `Invalid request: ${problem.path}: ${problem.message}`, [
      problem,
    ]);
  }
  return value as Record<string, unknown>;
}

/** How deep a request body may nest: every action's input is a few levels deep, and zod's checks recurse. */
export const MAX_BODY_DEPTH = 32;

// NUL and unpaired UTF-16 surrogates: JSON can carry them, Postgres text and jsonb cannot.
const unstorable = (text: string) => text.includes("\0") || !text.isWellFormed();
const UNSTORABLE_MESSAGE =
  "holds a NUL character (\\u0000) or an unpaired surrogate, which text cannot store";

/**
 * The first part of a parsed body that no action could take: nesting past MAX_BODY_DEPTH, or a
 * key or string Postgres cannot store. Checked once for every action, before any schema (whose
 * checks do not look inside free-form fields such as draft.settings).
 */
function unstorablePart(body: object): { path: string; message: string } | null {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{
    value: body,
    path: "",
    depth: 0,
  }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next;
    const where = path || "(body)";
    if (typeof value === "string") {
      if (unstorable(value)) return { path: where, message: UNSTORABLE_MESSAGE };
      continue;
    }
    if (!value || typeof value !== "object") continue;
    if (depth === MAX_BODY_DEPTH) {
      return { path: where, message: `nests deeper than ${MAX_BODY_DEPTH} levels` };
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key.slice(0, 60)}` : key.slice(0, 60);
      if (unstorable(key)) return { path: childPath, message: `its name ${UNSTORABLE_MESSAGE}` };
      // No input has it, and schemas would drop it silently (zod strips it where it refuses other
      // unknown keys): a client sending it learns so instead.
      if (key === "__proto__") return { path: childPath, message: "__proto__ is not a field name" };
      pending.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return null;
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

/** What a value sent in the wrong type is, for an error message: "a string", "an array", "null". */
function sentAs(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  if (typeof input === "number" && !Number.isFinite(input)) return "a number out of range";
  return typeof input === "object" ? "an object" : `a ${typeof input}`;
}

/**
 * A zod type error that tells a missing field from one sent in another type: "<field> is required
 * (<what>)" or "<field> must be <what>, not <sent>" (before, "1" and 1e999 for a number read as
 * missing).
 */
export const requiredAs = (field: string, what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined
    ? `${field} is required (${what})`
    : `${field} must be ${what}, not ${sentAs(issue.input)}`;

/**
 * A UUID, in the one spelling Postgres prints (lowercase). Postgres reads any case as the same id,
 * but the code also keys work by text: a task payload matched with jsonb `@>`, an asset slot's
 * name. Sent in capitals, one scene's regeneration was started and charged once per spelling, and
 * a film's cover had two current versions.
 */
export function uuidField(field: string, what: string) {
  return z.string({ error: requiredAs(field, what) }).uuid({ error: `${field} must be ${what}` })
    .transform((id) => id.toLowerCase());
}

/** Postgres `integer`'s largest value; a whole number past it failed the query (a 500), not the input. */
export const PG_INTEGER_MAX = 2_147_483_647;

/** A whole number from `min` to PG_INTEGER_MAX, for a field stored or matched as `integer`. */
export function wholeNumber(field: string, min: number) {
  return z.number({ error: `${field} must be a whole number` })
    .int(`${field} must be a whole number`)
    .min(min, `${field} must be ${min} or more`)
    .max(PG_INTEGER_MAX, `${field} must be at most ${PG_INTEGER_MAX}`);
}

/** Letters and symbols that draw nothing (Hangul fillers, the blank Braille cell). */
const BLANK_LOOKING = /[\u115F\u1160\u3164\uFFA0\u2800]/gu;
/** Control characters other than tab and line breaks: a terminal's escapes, a bell, a form feed. */
const CONTROLS = /[^\P{Cc}\t\n\r]/u;

/**
 * A trimmed string of 1 to `max` characters with at least one visible character (a letter,
 * digit, punctuation or symbol that draws something): `.trim()` keeps zero-width and other format
 * characters, and a text of those alone asks for nothing. Control characters other than tab and
 * line breaks are refused: no prompt or line needs a terminal escape.
 */
export function visibleText(field: string, max: number) {
  return z.string({ error: requiredAs(field, "a string") }).trim().min(1, `${field} must not be empty`)
    .max(max, `${field} must be at most ${max} characters`)
    .refine(
      (text) => /[\p{L}\p{N}\p{P}\p{S}]/u.test(text.replace(BLANK_LOOKING, "")),
      `${field} must have a visible character`,
    )
    .refine((text) => !CONTROLS.test(text), `${field} must not contain control characters`);
}
