/**
 * Validates a provider registration before anything is written: each failure is a 400 whose code
 * names the problem (unknown_provider, unknown_model, invalid_settings, api_key_required, ...).
 * Messages never contain the API key.
 */
import { z } from "zod";
import { BadRequestError, quoted } from "../../errors.ts";
import { PROVIDER_TYPES, type ProviderConfig, type ProviderType } from "../types.ts";
import { type CatalogEntry, catalogEntry, PROVIDER_CATALOG } from "./provider-catalog.ts";
import { requiredAs } from "../../http/read-body.ts";

export const DEFAULT_CONCURRENCY_LIMIT = 2;
export const MAX_CONCURRENCY_LIMIT = 100;
/**
 * A user's own row caps only their own key, but every task under it runs on the project's
 * workers: bounded lower than a project default's (the api_providers_user_concurrency_limit check).
 */
export const MAX_USER_CONCURRENCY_LIMIT = 10;

/** The shape of a registration request; the catalog checks come after. */
export const registrationInput = z.object({
  providerType: z.string({ error: requiredAs("providerType", "a string") }),
  provider: z.string({ error: requiredAs("provider", "a string") }),
  model: z.string({ error: requiredAs("model", "a string") }),
  settings: z.record(z.string(), z.unknown()).optional(),
  apiKey: z.string().optional(),
  concurrencyLimit: z.number().optional(),
}).strict();

export type RegistrationInput = z.infer<typeof registrationInput>;

/** A checked registration has exactly the shape of a registry row's config. */
export type ValidRegistration = ProviderConfig;

export function validateRegistration(
  input: RegistrationInput,
  maxConcurrency = MAX_CONCURRENCY_LIMIT,
): ValidRegistration {
  const providerType = input.providerType as ProviderType;
  if (!PROVIDER_TYPES.includes(providerType)) {
    throw new BadRequestError(
      "unknown_provider_type",
      `providerType ${quoted(input.providerType)} is not one of: ${PROVIDER_TYPES.join(", ")}`,
    );
  }
  const entry = catalogEntry(providerType, input.provider);
  if (!entry) {
    const known = Object.keys(PROVIDER_CATALOG[providerType]).join(", ");
    throw new BadRequestError(
      "unknown_provider",
      `provider ${quoted(input.provider)} is not a ${providerType} provider; expected one of: ${known}`,
    );
  }
  if (!entry.models.includes(input.model)) {
    throw new BadRequestError(
      "unknown_model",
      `model ${quoted(input.model)} is not a model of ${input.provider} (${providerType}); expected one of: ${
        entry.models.join(", ")
      }`,
    );
  }
  const settings = entry.settings.safeParse(input.settings ?? {});
  if (!settings.success) {
    const problems = settings.error.issues.map((issue) =>
      `settings${issue.path.length ? "." + issue.path.join(".") : ""}: ${issue.message}`
    );
    throw new BadRequestError(
      "invalid_settings",
      `invalid settings for ${input.provider}: ${problems.join("; ")}`,
    );
  }
  const modelProblem = entry.checkModelSettings?.(input.model, settings.data);
  if (modelProblem) throw new BadRequestError("invalid_settings", modelProblem);

  let apiKey: string | null = null;
  if (entry.needsApiKey) {
    if (input.apiKey === undefined) {
      throw new BadRequestError("api_key_required", `${input.provider} needs an apiKey`);
    }
    apiKey = checkApiKey(input.apiKey, entry);
  } else if (input.apiKey !== undefined) {
    throw new BadRequestError(
      "api_key_not_allowed",
      `${input.provider} runs on our own machines and takes no apiKey`,
    );
  }

  const concurrencyLimit = input.concurrencyLimit ?? DEFAULT_CONCURRENCY_LIMIT;
  if (!Number.isInteger(concurrencyLimit) || concurrencyLimit < 1 || concurrencyLimit > maxConcurrency) {
    throw new BadRequestError(
      "invalid_concurrency_limit",
      `concurrencyLimit must be a whole number from 1 to ${maxConcurrency}`,
    );
  }
  return {
    providerType,
    provider: input.provider,
    model: input.model,
    settings: settings.data,
    apiKey,
    concurrencyLimit,
  };
}

/** Printable ASCII without spaces: every provider key looks like that; the value is never echoed. */
export function checkApiKey(apiKey: string, entry?: CatalogEntry): string {
  if (apiKey.length < 8 || apiKey.length > 512 || !/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new BadRequestError(
      "invalid_api_key",
      `apiKey must be 8 to 512 printable characters without spaces (got ${apiKey.length} characters)`,
    );
  }
  // The provider's own shape, said without echoing the key: a key refused later, at its first paid
  // call, would fail a film instead of this request.
  if (entry?.apiKeyShape && !entry.apiKeyShape.pattern.test(apiKey)) {
    throw new BadRequestError("invalid_api_key", `apiKey must be ${entry.apiKeyShape.description}`);
  }
  return apiKey;
}

/** What a UI may show of a key: its last four characters, two for short keys (never a quarter of it). */
export function keyHint(apiKey: string): string {
  return apiKey.slice(apiKey.length >= 16 ? -4 : -2);
}
