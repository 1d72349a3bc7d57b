/**
 * Samples pg_stat_activity while a benchmark runs, for the peak number of client connections to
 * the database: in all, and by what opened them (application_name: `fn:<function>` pools,
 * `fn:<function>:leases`, the render worker's, the stack's own, the benchmark's).
 */
import type postgres from "postgres";

export interface ConnectionPeak {
  total: number;
  /** Edge Function workers' connections (`fn:*`), query pools and lease connections together. */
  functions: number;
  /** The highest count seen for each application_name. */
  byApplication: Record<string, number>;
}

export function sampleConnections(sql: postgres.Sql, everyMs = 200) {
  const peak: ConnectionPeak = { total: 0, functions: 0, byApplication: {} };
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      const rows = await sql`
        select coalesce(nullif(application_name, ''), 'unnamed') as app, count(*)::int as n
          from pg_stat_activity
         where backend_type = 'client backend' and datname = current_database()
         group by 1`;
      let total = 0;
      let functions = 0;
      for (const { app, n } of rows) {
        total += n;
        if (String(app).startsWith("fn:")) functions += n;
        peak.byApplication[app] = Math.max(peak.byApplication[app] ?? 0, n);
      }
      peak.total = Math.max(peak.total, total);
      peak.functions = Math.max(peak.functions, functions);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop(): Promise<ConnectionPeak> {
      stopped = true;
      await sampling;
      return peak;
    },
  };
}
