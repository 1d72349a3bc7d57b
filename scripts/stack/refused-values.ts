/**
 * A value Postgres refuses as data (SQLSTATE class 22) is the caller's fault, not the stand-in's:
 * a NUL character in text or jsonb, a number past bigint. Postgres refuses it when the parameter is
 * bound, before any RLS check, so it needs no permission to reach. The Storage and Auth stand-ins
 * answer it as their 400s, saying which rule the value broke and never quoting it.
 */
export function refusedValueMessage(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("22")) return null;
  if (code === "22021" || code === "22P05") return "a value holds a NUL character, which no text may hold";
  if (code === "22003") return "a number is out of range";
  return "a value is not valid here";
}
