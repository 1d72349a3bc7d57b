/** The auth.users row that owns every task a benchmark creates; deleting it cascades to them. */
import type { Sql } from "postgres";

export const BENCH_USER_ID = "00000000-0000-4000-8000-00000000be4c";

export async function ensureBenchUser(sql: Sql): Promise<string> {
  await sql`
    insert into auth.users (id, email) values (${BENCH_USER_ID}, 'bench@reelforge.local')
    on conflict (id) do nothing`;
  return BENCH_USER_ID;
}

export async function dropBenchUser(sql: Sql): Promise<void> {
  await sql`delete from auth.users where id = ${BENCH_USER_ID}`;
}
