/**
 * The `providers` Edge Function's app, runtime-neutral: POST /providers for a signed-in user's own
 * providers, POST /providers/defaults for the project defaults (service role). It runs no tasks,
 * so it has no task-slice doorbell and no status/cancel/resume actions.
 */
import { loadConfig } from "../../config.ts";
import { secretBoxFromConfig } from "../../crypto/secret-box.ts";
import { createDb } from "../../db/client.ts";
import { createFunctionApp } from "../../http/function-app.ts";
import type { RuntimeHooks } from "../../http/build-function.ts";
import { providerActions } from "./provider-actions.ts";
import { createProviderStore } from "./provider-store.ts";
import { mountProjectDefaultsRoute } from "./project-defaults-route.ts";

export const PROVIDERS_FUNCTION = "providers";

export function buildProvidersFunction(runtime: Pick<RuntimeHooks, "env" | "waitUntil">) {
  const config = loadConfig(runtime.env);
  const sql = createDb(config.SUPABASE_DB_URL, { applicationName: `fn:${PROVIDERS_FUNCTION}` });
  const deps = {
    store: createProviderStore(sql),
    secrets: secretBoxFromConfig(config),
  };
  const app = createFunctionApp({
    name: PROVIDERS_FUNCTION,
    actions: providerActions(deps, (caller) => caller.userId),
    internalSecret: config.REELFORGE_INTERNAL_SECRET,
    waitUntil: runtime.waitUntil,
  });
  mountProjectDefaultsRoute(app, providerActions(deps, () => null), config.SUPABASE_SERVICE_ROLE_KEY);
  return { app, sql };
}
