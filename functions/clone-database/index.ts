import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { cloneActions } from "../../shared/clone/clone-actions.ts";
import { CLONE_KIND, createCloneHandler } from "../../shared/clone/clone-task.ts";
import type { CloneTargetRules } from "../../shared/clone/clone-target.ts";
import type { Config } from "../../shared/config.ts";
import { secretBoxFromConfig } from "../../shared/crypto/secret-box.ts";
import type { TaskHandlers } from "../../shared/engine/slice-runner.ts";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import { lookupAllAddresses } from "../../shared/net/dns-lookup.ts";
import { createOutboundGuard } from "../../shared/net/outbound-guard.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";
import { createStorage } from "../../shared/storage/index.ts";

const targetRules = (config: Config): CloneTargetRules => ({
  guard: createOutboundGuard({
    allowPrivate: config.REELFORGE_CLONE_ALLOW_PRIVATE_TARGETS,
    resolve: lookupAllAddresses,
  }),
  allowedPorts: config.REELFORGE_CLONE_ALLOWED_PORTS,
});

serveEdgeFunction({
  name: "clone-database",
  // Copying the whole project is an operator's action (service role or a verified operator).
  admits: "operators",
  actions: ({ config, store, sql }) =>
    cloneActions({
      store,
      sql,
      sourceUrl: config.SUPABASE_DB_URL,
      secrets: secretBoxFromConfig(config),
      targets: targetRules(config),
    }),
  // Without the encryption key no job can be started (start answers 503), so none can run.
  handlers: ({ config, sql }): TaskHandlers =>
    config.REELFORGE_ENCRYPTION_KEY
      ? routedHandlers("clone-database", {
        [CLONE_KIND]: createCloneHandler({
          sourceUrl: config.SUPABASE_DB_URL,
          secrets: secretBoxFromConfig(config)!,
          storage: createStorage(config, sql),
          targets: targetRules(config),
          concurrency: config.REELFORGE_CLONE_CONCURRENCY,
        }),
      })
      : {},
});
