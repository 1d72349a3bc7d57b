/**
 * Where each sealed secret lives: the binding its value is sealed to. One place, so the code that
 * seals, the code that opens and the rotation command (scripts/secrets-rotate.ts) agree.
 */
import { SECRET_PURPOSES, type SecretBinding } from "./secret-box.ts";

/** public.api_providers.api_key_encrypted of row `providerId`. */
export function providerKeyBinding(providerId: string): SecretBinding {
  return { purpose: SECRET_PURPOSES.providerApiKey, table: "public.api_providers", rowId: providerId };
}

/** background_tasks.metadata.clone.target of clone job `taskId` (the target Postgres URL). */
export function cloneTargetBinding(taskId: string): SecretBinding {
  return { purpose: SECRET_PURPOSES.cloneTarget, table: "public.background_tasks", rowId: taskId };
}

/** background_tasks.metadata.clone.targetStorage of clone job `taskId` (target Storage URL and key). */
export function cloneTargetStorageBinding(taskId: string): SecretBinding {
  return { purpose: SECRET_PURPOSES.cloneTargetStorage, table: "public.background_tasks", rowId: taskId };
}
