/**
 * SQL for api_providers rows. `owner` is a user id, or null for the project-wide defaults. The
 * sealed key column is written here and read only by resolveProviders; no query here returns it.
 */
import type { Json, Sql, TransactionSql } from "../../db/client.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../../errors.ts";
import type { SealedSecret } from "../../crypto/secret-box.ts";
import type { ProviderType } from "../types.ts";
import type { ValidRegistration } from "./provider-config.ts";

export type Owner = string | null;

/** A registry row as callers see it: no key, only its hint. */
export interface ProviderRow {
  id: string;
  userId: string | null;
  providerType: ProviderType;
  provider: string;
  model: string;
  settings: Record<string, unknown>;
  isActive: boolean;
  concurrencyLimit: number;
  keyHint: string | null;
  concurrencyKey: string;
  createdAt: Date;
  updatedAt: Date;
  rotatedAt: Date | null;
}

const COLUMNS = [
  "id",
  "user_id",
  "provider_type",
  "provider",
  "model",
  "settings",
  "is_active",
  "concurrency_limit",
  "key_hint",
  "concurrency_key",
  "created_at",
  "updated_at",
  "rotated_at",
];

// deno-lint-ignore no-explicit-any
function toRow(row: any): ProviderRow {
  return {
    id: row.id,
    userId: row.user_id,
    providerType: row.provider_type,
    provider: row.provider,
    model: row.model,
    settings: row.settings,
    isActive: row.is_active,
    concurrencyLimit: row.concurrency_limit,
    keyHint: row.key_hint,
    concurrencyKey: row.concurrency_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    rotatedAt: row.rotated_at,
  };
}

const sameOwner = (sql: Sql | TransactionSql, owner: Owner) =>
  owner === null ? sql`user_id is null` : sql`user_id = ${owner}`;

export function createProviderStore(sql: Sql) {
  /**
   * The row, if `owner` may change it: 404 for an unknown id and for another user's row (the same
   * answer: an id tells a user nothing of what exists); 403 for a project default (every user
   * sees those listed) and, for the service role, a user's row.
   */
  async function ownRow(id: string, owner: Owner): Promise<ProviderRow> {
    const [row] = await sql`select ${sql(COLUMNS)} from public.api_providers where id = ${id}`;
    if (!row || (owner !== null && row.user_id !== null && row.user_id !== owner)) {
      throw new NotFoundError("Provider", id);
    }
    if (row.user_id !== owner) {
      throw new ForbiddenError(
        owner === null
          ? `Provider ${id} belongs to a user; the service role manages project defaults only`
          : `Provider ${id} is a project default, managed by the service role`,
      );
    }
    return toRow(row);
  }

  return {
    ownRow,

    /** The owner's rows; a user also sees the project defaults that apply where they have none. */
    async list(owner: Owner): Promise<ProviderRow[]> {
      const rows = await sql`
        select ${sql(COLUMNS)} from public.api_providers
         where ${sameOwner(sql, owner)} ${owner === null ? sql`` : sql`or user_id is null`}
         order by provider_type, user_id nulls last, is_active desc, created_at desc`;
      // A project default's key is the operator's: a user sees that it applies, not its hint.
      return rows.map(toRow).map((row) =>
        owner !== null && row.userId === null ? { ...row, keyHint: null } : row
      );
    },

    /**
     * Inserts the row active, switching off the owner's previous choice for its type in the same
     * transaction. `id` is chosen by the caller because the key is sealed to it before the insert.
     */
    async register(
      owner: Owner,
      valid: ValidRegistration,
      key: { id: string; sealed: SealedSecret | null; hint: string | null },
    ): Promise<ProviderRow> {
      const { id, sealed: sealedKey, hint } = key;
      try {
        return await sql.begin(async (tx) => {
          await tx`update public.api_providers set is_active = false
                    where ${sameOwner(tx, owner)} and provider_type = ${valid.providerType} and is_active`;
          // settings: validated by the provider's zod schema from a JSON body, typed Record<string, unknown>.
          const [row] = await tx`
            insert into public.api_providers
              (id, user_id, provider_type, provider, model, settings, concurrency_limit, api_key_encrypted, key_hint)
            values (${id}, ${owner}, ${valid.providerType}, ${valid.provider}, ${valid.model}, ${
            tx.json(valid.settings as Json)
          },
                    ${valid.concurrencyLimit}, ${sealedKey ? JSON.stringify(sealedKey) : null}, ${hint})
            returning ${tx(COLUMNS)}`;
          return toRow(row);
        }) as ProviderRow;
      } catch (error) {
        // Two registrations for one type raced: the partial unique index let only one win.
        if ((error as { code?: string }).code === "23505") {
          throw new ConflictError(
            "provider_registration_conflict",
            `Another ${valid.providerType} provider was registered at the same time; retry`,
          );
        }
        throw error;
      }
    },

    async rotateKey(id: string, owner: Owner, sealedKey: SealedSecret, hint: string): Promise<ProviderRow> {
      const [row] = await sql`
        update public.api_providers
           set api_key_encrypted = ${JSON.stringify(sealedKey)}, key_hint = ${hint}, rotated_at = now()
         where id = ${id} and ${sameOwner(sql, owner)}
        returning ${sql(COLUMNS)}`;
      if (!row) await ownRow(id, owner);
      return toRow(row);
    },

    async deactivate(id: string, owner: Owner): Promise<ProviderRow> {
      const [row] = await sql`
        update public.api_providers set is_active = false
         where id = ${id} and ${sameOwner(sql, owner)}
        returning ${sql(COLUMNS)}`;
      if (!row) await ownRow(id, owner);
      return toRow(row);
    },
  };
}

export type ProviderStore = ReturnType<typeof createProviderStore>;
