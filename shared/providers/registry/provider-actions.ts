/**
 * The providers function's actions: list, register, rotate_key, deactivate. A user manages their
 * own rows; the same actions with the service role manage the project defaults (owner null).
 * No answer carries an API key: rows show only key_hint.
 */
import { z } from "zod";
import type { Caller } from "../../auth/caller.ts";
import { providerKeyBinding } from "../../crypto/secret-bindings.ts";
import type { SecretBox } from "../../crypto/secret-box.ts";
import { AppError, BadRequestError } from "../../errors.ts";
import { type ActionSpec, defineAction } from "../../http/function-app.ts";
import { PROVIDER_TYPES } from "../types.ts";
import { catalogEntry } from "./provider-catalog.ts";
import {
  checkApiKey,
  keyHint,
  MAX_CONCURRENCY_LIMIT,
  MAX_USER_CONCURRENCY_LIMIT,
  registrationInput,
  validateRegistration,
} from "./provider-config.ts";
import type { Owner, ProviderRow, ProviderStore } from "./provider-store.ts";
import { requiredAs, uuidField } from "../../http/read-body.ts";

export interface ProviderActionDeps {
  store: ProviderStore;
  /** Null when REELFORGE_ENCRYPTION_KEY is not set: keyed providers cannot be registered. */
  secrets: SecretBox | null;
}

const byId = z.object({ id: uuidField("id", "a provider's UUID") }).strict();
const rotateInput = z.object({
  id: uuidField("id", "a provider's UUID"),
  apiKey: z.string({ error: requiredAs("apiKey", "a string") }),
}).strict();

/** What each provider type resolves to for this owner, from rows already read (no keys opened). */
export function effectiveProviders(rows: ProviderRow[], owner: Owner) {
  return Object.fromEntries(PROVIDER_TYPES.map((type) => {
    const active = rows.filter((row) => row.providerType === type && row.isActive);
    const row = active.find((r) => owner !== null && r.userId === owner) ??
      active.find((r) => r.userId === null);
    return [
      type,
      row
        ? {
          id: row.id,
          source: row.userId === null ? "project" : "user",
          provider: row.provider,
          model: row.model,
        }
        : { id: null, source: "fallback", provider: "local", model: "local" },
    ];
  }));
}

/** The actions for one kind of caller; `ownerOf` maps the caller to the rows it manages. */
export function providerActions(
  deps: ProviderActionDeps,
  ownerOf: (caller: Caller) => Owner,
): Record<string, ActionSpec> {
  const { store } = deps;

  function secretBox(): SecretBox {
    if (!deps.secrets) {
      throw new AppError(
        "not_configured",
        503,
        "storing API keys needs the REELFORGE_ENCRYPTION_KEY function secret",
      );
    }
    return deps.secrets;
  }

  return {
    list: defineAction({
      input: z.object({}).strict(),
      async run(_input, caller) {
        const owner = ownerOf(caller);
        const rows = await store.list(owner);
        return { body: { providers: rows, effective: effectiveProviders(rows, owner) } };
      },
    }),

    // Registering or re-keying a provider is what lets a user spend on it.
    register: defineAction({
      spends: true,
      input: registrationInput,
      async run(input, caller) {
        const owner = ownerOf(caller);
        const valid = validateRegistration(
          input,
          owner === null ? MAX_CONCURRENCY_LIMIT : MAX_USER_CONCURRENCY_LIMIT,
        );
        const id = crypto.randomUUID();
        const sealed = valid.apiKey === null
          ? null
          : await secretBox().seal(valid.apiKey, providerKeyBinding(id));
        const row = await store.register(owner, valid, {
          id,
          sealed,
          hint: valid.apiKey === null ? null : keyHint(valid.apiKey),
        });
        return { status: 201, body: { provider: row } };
      },
    }),

    rotate_key: defineAction({
      spends: true,
      input: rotateInput,
      async run({ id, apiKey }, caller) {
        const owner = ownerOf(caller);
        const row = await store.ownRow(id, owner);
        const entry = catalogEntry(row.providerType, row.provider);
        if (!entry?.needsApiKey) {
          throw new BadRequestError(
            "api_key_not_allowed",
            `${row.provider} runs on our own machines and takes no apiKey`,
          );
        }
        const key = checkApiKey(apiKey, entry);
        const rotated = await store.rotateKey(
          id,
          owner,
          await secretBox().seal(key, providerKeyBinding(id)),
          keyHint(key),
        );
        return { body: { provider: rotated } };
      },
    }),

    deactivate: defineAction({
      input: byId,
      async run({ id }, caller) {
        return { body: { provider: await store.deactivate(id, ownerOf(caller)) } };
      },
    }),
  };
}
