/**
 * When this worker started, as the slice budgets count it: `Date.now()` when this module is
 * evaluated. Supabase's edge-runtime never sets `performance.timeOrigin` (its bootstrap does not
 * call Deno's setTimeOrigin), so budgets built from it were NaN there and slices never yielded.
 * Entry files import this module first: ES modules evaluate in import order, so the clock is
 * taken before the rest of the function's graph, and a later (lazy) import cannot restart it.
 * The boot time before it is covered by the slice budget's reserve.
 */
export const workerStartedAt: number = Date.now();
