/**
 * providers (shared/providers/registry/provider-actions.ts): the signed-in user's own provider
 * rows, per provider type. No answer carries an API key, only its last characters (keyHint).
 */
import { type CallOptions, type FunctionsInvoker, invokeAction } from "./invoke-action.ts";
import type { Timestamp } from "./tasks.ts";

export type ProviderType = "llm" | "video" | "image" | "audio" | "lipsync" | "music" | "render" | "search";

export interface ProviderRow {
  id: string;
  /** null for a project default (managed with the service role at providers/defaults). */
  userId: string | null;
  providerType: ProviderType;
  provider: string;
  model: string;
  settings: Record<string, unknown>;
  isActive: boolean;
  concurrencyLimit: number;
  keyHint: string | null;
  concurrencyKey: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  rotatedAt: Timestamp | null;
}

/** What a type resolves to: the user's active row, else the project default, else `local`. */
export type EffectiveProvider =
  | { id: string; source: "user" | "project"; provider: string; model: string }
  | { id: null; source: "fallback"; provider: "local"; model: "local" };

export interface ProviderList {
  /** The user's rows and the project defaults; per type the user's first, active first, newest first. */
  providers: ProviderRow[];
  effective: Record<ProviderType, EffectiveProvider>;
}

export interface RegisterProviderInput {
  providerType: ProviderType;
  provider: string;
  model: string;
  settings?: Record<string, unknown>;
  /** Required by hosted providers, refused by local ones. */
  apiKey?: string;
  /** 1 to 100; 2 when left out. */
  concurrencyLimit?: number;
}

export interface ProviderAnswer {
  provider: ProviderRow;
}

export function providerMethods(supabase: FunctionsInvoker) {
  const call = <T>(action: string, input: object, options?: CallOptions) =>
    invokeAction<T>(supabase, "providers", action, input, options);
  return {
    list: (options?: CallOptions) => call<ProviderList>("list", {}, options),
    /**
     * 201; switches off the user's previous row of that type. 400 codes name the problem:
     * unknown_provider_type, unknown_provider, unknown_model, invalid_settings, api_key_required, ...
     */
    register: (input: RegisterProviderInput, options?: CallOptions) =>
      call<ProviderAnswer>("register", input, options),
    /** 400 api_key_not_allowed for a provider that takes no key. */
    rotateKey: (input: { id: string; apiKey: string }, options?: CallOptions) =>
      call<ProviderAnswer>("rotate_key", input, options),
    deactivate: (id: string, options?: CallOptions) => call<ProviderAnswer>("deactivate", { id }, options),
  };
}
