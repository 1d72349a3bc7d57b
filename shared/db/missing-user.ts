/**
 * A write that names a user auth.users no longer holds (a deleted account whose token has not
 * expired, or a token for a user that never existed): Postgres refuses it with a foreign-key
 * violation on the table's `<table>_user_id_fkey`, the name it gives `user_id ... references
 * auth.users`. Every such constraint references auth.users and no other constraint has that name
 * (tests/unit/missing-user.test.ts checks supabase/schema.sql), so the name alone tells this
 * violation from one on a film, scene or task reference. All of them cascade on delete, so the
 * violation can only come from an insert or update naming the user.
 */

const FOREIGN_KEY_VIOLATION = "23503";
const USER_FOREIGN_KEY = /_user_id_fkey$/;

/** Whether `error` is Postgres refusing a row for a user that does not exist in auth.users. */
export function isMissingUserViolation(error: unknown): boolean {
  const e = error as { code?: unknown; constraint_name?: unknown } | null | undefined;
  return e?.code === FOREIGN_KEY_VIOLATION && typeof e.constraint_name === "string" &&
    USER_FOREIGN_KEY.test(e.constraint_name);
}
