/**
 * Runs one edge function's entry file the way the edge runtime does: `EdgeRuntime.waitUntil`
 * exists and keeps the worker alive for background work; the entry file calls `Deno.serve`,
 * which listens on DENO_SERVE_ADDRESS (set by the gateway's worker pool).
 */
import { pathToFileURL } from "node:url";

const entrypoint = Deno.args[0];
if (!entrypoint) {
  console.error("usage: worker-host.ts <entrypoint>");
  Deno.exit(2);
}

// A pending promise keeps Deno's event loop busy only if it waits on I/O or timers; the worker
// process lives until the gateway kills it anyway, so tracking is for logging rejections.
const pending = new Set<Promise<unknown>>();

Object.assign(globalThis, {
  EdgeRuntime: {
    waitUntil(promise: Promise<unknown>): void {
      const tracked = Promise.resolve(promise)
        .catch((error) => console.error("[worker] waitUntil promise rejected:", error))
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  },
});

// The gateway retires a worker (soft CPU limit, idle request) by sending SIGUSR2 once nothing is in
// flight; like edge-runtime's early drop, the worker ends when its background work has settled.
Deno.addSignalListener("SIGUSR2", async () => {
  while (pending.size > 0) await Promise.allSettled([...pending]);
  Deno.exit(0);
});

await import(pathToFileURL(entrypoint).href);
