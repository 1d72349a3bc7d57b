/**
 * `npm run demo -- --chaos`: kills a random live worker of the film functions every 1–4 s through
 * the local stack's admin API (as the platform's wall clock, a crash or a deploy would), and keeps
 * the list for the report. The film must finish by itself: leases, liveness locks and the sweeper
 * bring every interrupted task back.
 */
type Admin = (path: string, body?: unknown) => Promise<unknown>;

export interface Kill {
  at: Date;
  function: string;
}

export function startChaos(admin: Admin, functions: string[], random = Math.random) {
  const kills: Kill[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 1000 + random() * 3000));
      if (stopped) break;
      const { live } = await admin("workers").catch(() => ({ live: [] })) as { live: { function: string }[] };
      const alive = live.filter((w) => functions.includes(w.function));
      if (!alive.length) continue;
      const target = alive[Math.floor(random() * alive.length)].function;
      const { killed } = await admin("workers/kill", { function: target }).catch(() => ({ killed: [] })) as {
        killed: unknown[];
      };
      if (killed.length) kills.push({ at: new Date(), function: target });
    }
  })();
  return {
    kills,
    async stop(): Promise<Kill[]> {
      stopped = true;
      await loop;
      return kills;
    },
  };
}
