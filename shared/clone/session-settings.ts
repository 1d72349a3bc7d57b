/**
 * Session settings for every clone connection, source and target alike (postgres.js `connection:`
 * at pool creation, so each new connection starts with them). No timeouts: a chunk may legitimately
 * run for a while and wait on locks; the slice budget, not the server, bounds it. Fixed text output
 * (UTC, ISO dates, postgres intervals, hex bytea, round-trip floats) so COPY text parses identically
 * on the other side and row hashes compare equal across the two servers.
 */
export const CLONE_SESSION_SETTINGS: Record<string, string> = {
  statement_timeout: "0",
  lock_timeout: "0",
  idle_in_transaction_session_timeout: "0",
  TimeZone: "UTC",
  DateStyle: "ISO",
  IntervalStyle: "postgres",
  extra_float_digits: "3",
  bytea_output: "hex",
};
