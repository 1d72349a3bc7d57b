import { cloneActions } from "../../shared/clone/clone-actions.ts";
import { CLONE_KIND, createCloneHandler } from "../../shared/clone/clone-task.ts";
import { secretBoxFromConfig } from "../../shared/crypto/secret-box.ts";
import type { TaskHandlers } from "../../shared/engine/slice-runner.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";
import { createStorage } from "../../shared/storage/index.ts";

serveEdgeFunction({
  name: "clone-database",
  // Copying the whole project is an operator's action (service role or a verified operator).
  admits: "operators",
  actions: ({ config, store }) =>
    cloneActions({
      store,
      sourceUrl: config.SUPABASE_DB_URL,
      secrets: secretBoxFromConfig(config),
    }),
  // Without the encryption key no job can be started (start answers 503), so none can run.
  handlers: ({ config, sql }): TaskHandlers =>
    config.REELFORGE_ENCRYPTION_KEY
      ? {
        [CLONE_KIND]: createCloneHandler({
          sourceUrl: config.SUPABASE_DB_URL,
          secrets: secretBoxFromConfig(config)!,
          storage: createStorage(config, sql),
        }),
      }
      : {},
});
