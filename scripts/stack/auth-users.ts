/**
 * auth.users and auth.refresh_tokens for the stack's sign-in: the rows GoTrue would write, with
 * bcrypt password hashes from pgcrypto (the same format GoTrue stores).
 */
import type postgres from "postgres";

/** A JSON object from a request body, as stored in a jsonb metadata column. */
export type JsonObject = Record<string, postgres.JSONValue>;

export interface AuthUser {
  id: string;
  email: string | null;
  is_anonymous: boolean;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  email_confirmed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  last_sign_in_at: Date | null;
}

type Sql = postgres.Sql;
const COLUMNS =
  "id, email, is_anonymous, raw_app_meta_data, raw_user_meta_data, email_confirmed_at, created_at, updated_at, last_sign_in_at";

export function createAuthUsers(sql: Sql) {
  return {
    /** A new user; null when the email is taken. No email: an anonymous user. */
    async create(
      input: { email: string | null; password: string | null; userMetadata: JsonObject },
    ): Promise<AuthUser | null> {
      const provider = input.email ? "email" : "anonymous";
      const [user] = await sql<AuthUser[]>`
        insert into auth.users (email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, is_anonymous, last_sign_in_at)
        values (${input.email}, ${
        input.password === null ? null : sql`extensions.crypt(${input.password}, extensions.gen_salt('bf'))`
      },
                ${input.email ? sql`now()` : null}, ${sql.json({ provider, providers: [provider] })},
                ${sql.json(input.userMetadata)}, ${input.email === null}, now())
        on conflict (email) do nothing
        returning ${sql.unsafe(COLUMNS)}`;
      return user ?? null;
    },

    /** The user with this email and password, or null (no hint which of the two was wrong). */
    async withPassword(email: string, password: string): Promise<AuthUser | null> {
      const [user] = await sql<AuthUser[]>`
        update auth.users set last_sign_in_at = now()
         where email = ${email} and encrypted_password is not null
           and encrypted_password = extensions.crypt(${password}, encrypted_password)
        returning ${sql.unsafe(COLUMNS)}`;
      return user ?? null;
    },

    async get(id: string): Promise<AuthUser | null> {
      const [user] = await sql<AuthUser[]>`select ${sql.unsafe(COLUMNS)} from auth.users where id = ${id}`;
      return user ?? null;
    },

    /** Merges metadata as GoTrue's admin update does (a null value removes the key). */
    async updateMetadata(
      id: string,
      appMetadata: JsonObject | null,
      userMetadata: JsonObject | null,
    ): Promise<AuthUser | null> {
      const [user] = await sql<AuthUser[]>`
        update auth.users
           set raw_app_meta_data = jsonb_strip_nulls(coalesce(raw_app_meta_data, '{}') || ${
        sql.json(appMetadata ?? {})
      }),
               raw_user_meta_data = jsonb_strip_nulls(coalesce(raw_user_meta_data, '{}') || ${
        sql.json(userMetadata ?? {})
      }),
               updated_at = now()
         where id = ${id}
        returning ${sql.unsafe(COLUMNS)}`;
      return user ?? null;
    },

    async issueRefreshToken(userId: string, sessionId: string): Promise<string> {
      const token = Array.from(
        crypto.getRandomValues(new Uint8Array(24)),
        (byte) => byte.toString(16).padStart(2, "0"),
      ).join("");
      await sql`insert into auth.refresh_tokens (token, user_id, session_id) values (${token}, ${userId}, ${sessionId})`;
      return token;
    },

    /** Revokes a live refresh token (rotation: each is used once) and says whose session it was. */
    async useRefreshToken(token: string): Promise<{ userId: string; sessionId: string } | null> {
      const [row] = await sql`
        update auth.refresh_tokens set revoked = true where token = ${token} and not revoked
        returning user_id, session_id`;
      return row ? { userId: row.user_id as string, sessionId: row.session_id as string } : null;
    },

    async revokeSession(sessionId: string): Promise<void> {
      await sql`update auth.refresh_tokens set revoked = true where session_id = ${sessionId}`;
    },
  };
}

export type AuthUsers = ReturnType<typeof createAuthUsers>;
