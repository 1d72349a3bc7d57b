/**
 * The doorbell's settings (engine.settings, the internal secret in Vault where there is Vault),
 * written with engine.configure_dispatch only when they differ, so a second deploy changes nothing.
 */
import type postgres from "postgres";

export interface DispatchSettings {
  functionsUrl: string;
  apiKey: string;
  internalSecret: string;
  sweepEveryMs: number;
}

export async function configureDispatch(
  sql: postgres.Sql,
  want: DispatchSettings,
): Promise<{ changed: boolean; secretKeptIn: "vault" | "engine.settings" }> {
  const [current] = await sql`
    select functions_url, api_key, sweep_every_ms, engine.internal_secret() as internal_secret,
           to_regclass('vault.secrets') is not null as has_vault
      from engine.settings`;
  const secretKeptIn = current.has_vault ? "vault" : "engine.settings";
  const same = current.functions_url === want.functionsUrl.replace(/\/+$/, "") &&
    current.api_key === want.apiKey &&
    current.sweep_every_ms === want.sweepEveryMs && current.internal_secret === want.internalSecret;
  if (same) return { changed: false, secretKeptIn };
  await sql`
    select engine.configure_dispatch(
      p_functions_url => ${want.functionsUrl}, p_api_key => ${want.apiKey},
      p_internal_secret => ${want.internalSecret}, p_sweep_every_ms => ${want.sweepEveryMs})`;
  return { changed: true, secretKeptIn };
}
