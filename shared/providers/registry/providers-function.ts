/**
 * The `providers` Edge Function's app, runtime-neutral: POST /providers for a signed-in user's own
 * providers, POST /providers/defaults for the project defaults (service role). It runs no tasks,
 * so it has no task-slice doorbell and no status/cancel/resume actions.
 */
import { createAuthenticatorFromConfig } from "../../auth/authenticator-from-config.ts";
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
  const authenticate = createAuthenticatorFromConfig(config);
  const app = createFunctionApp({
    name: PROVIDERS_FUNCTION,
    authenticate,
    actions: providerActions(deps, (caller) => caller.userId),
    internalSecret: config.REELFORGE_INTERNAL_SECRET,
    waitUntil: runtime.waitUntil,
  });
  mountProjectDefaultsRoute(app, providerActions(deps, () => null), authenticate);
  return { app, sql };
}
