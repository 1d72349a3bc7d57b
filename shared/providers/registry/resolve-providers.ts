/**
 * Which provider each type uses for a user: their active row, else the project default, else the
 * offline `local` provider. The only reader of the sealed key column; keys are opened here and
 * handed to adapters, never logged or returned.
 */
import type { Config } from "../../config.ts";
import { providerKeyBinding } from "../../crypto/secret-bindings.ts";
import { parseStoredSecret, secretBoxFromConfig } from "../../crypto/secret-box.ts";
import type { Sql } from "../../db/client.ts";
import { AppError } from "../../errors.ts";
import { PROVIDER_TYPES, type ProviderConfig, type ProviderType } from "../types.ts";

export interface ResolvedProvider extends ProviderConfig {
  /** The api_providers row, null for the built-in local fallback. */
  id: string | null;
  source: "user" | "project" | "fallback";
  /** engine.concurrency_limits key for this provider's jobs; null = uncapped. */
  concurrencyKey: string | null;
}

export type ResolvedProviders = Record<ProviderType, ResolvedProvider>;

const LOCAL_FALLBACK_CONCURRENCY = 2;

export function localFallback(providerType: ProviderType): ResolvedProvider {
  return {
    id: null,
    source: "fallback",
    providerType,
    provider: "local",
    model: "local",
    settings: {},
    apiKey: null,
    concurrencyLimit: LOCAL_FALLBACK_CONCURRENCY,
    concurrencyKey: null,
  };
}

export async function resolveProviders(
  sql: Sql,
  userId: string,
  config: Pick<Config, "REELFORGE_ENCRYPTION_KEY" | "REELFORGE_ENCRYPTION_KEY_PREVIOUS">,
): Promise<ResolvedProviders> {
  // The user's row sorts before the default (nulls last), so distinct on keeps the user's.
  const rows = await sql`
    select distinct on (provider_type)
           id, user_id, provider_type, provider, model, settings, concurrency_limit, concurrency_key, api_key_encrypted
      from public.api_providers
     where is_active and (user_id = ${userId} or user_id is null)
     order by provider_type, user_id nulls last`;
  const secrets = secretBoxFromConfig(config);

  const resolved = Object.fromEntries(
    PROVIDER_TYPES.map((type) => [type, localFallback(type)]),
  ) as ResolvedProviders;
  for (const row of rows) {
    let apiKey: string | null = null;
    if (row.api_key_encrypted) {
      if (!secrets) {
        throw new AppError(
          "not_configured",
          503,
          "opening provider keys needs the REELFORGE_ENCRYPTION_KEY function secret",
        );
      }
      try {
        apiKey = await secrets.open(parseStoredSecret(row.api_key_encrypted), providerKeyBinding(row.id));
      } catch {
        // Sealed under a key no longer configured, or not for this row: say which row, never the value.
        throw new AppError(
          "provider_key_unreadable",
          500,
          `the API key of ${row.provider_type} provider ${row.id} cannot be decrypted; register or rotate it again`,
        );
      }
    }
    resolved[row.provider_type as ProviderType] = {
      id: row.id,
      source: row.user_id === null ? "project" : "user",
      providerType: row.provider_type,
      provider: row.provider,
      model: row.model,
      settings: row.settings,
      apiKey,
      concurrencyLimit: row.concurrency_limit,
      concurrencyKey: row.concurrency_key,
    };
  }
  return resolved;
}
