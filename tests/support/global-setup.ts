import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, stackEnv } from "./stack.ts";

/** Checks the stack answers and installs the test-only probe tables before any test file runs. */
export default async function setup() {
  const env = stackEnv();
  const health = await fetch(`${env.API_URL}/_stack/health`).catch(() => null);
  if (!health?.ok) {
    throw new Error(`local stack gateway is not answering at ${env.API_URL}: run npm run stack:start`);
  }
  const sql = connect(1);
  try {
    await sql.unsafe(readFileSync(join(import.meta.dirname!, "..", "fixtures", "probe-schema.sql"), "utf8"));
  } finally {
    await sql.end();
  }
}
