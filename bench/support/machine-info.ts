/** What the numbers were measured on, recorded next to them. */
import { cpus, totalmem } from "node:os";
import type { Sql } from "postgres";

export interface MachineInfo {
  date: string;
  cpuCount: number;
  cpuModel: string;
  memoryGiB: number;
  deno: string;
  node: string | null;
  postgres: string;
  postgresSettings: Record<string, string>;
}

async function nodeVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("node", { args: ["--version"], stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

export async function machineInfo(sql: Sql): Promise<MachineInfo> {
  const [{ version }] = await sql`select current_setting('server_version') as version`;
  // Durability settings change commit cost, which dominates a no-op task.
  const settings = await sql`
    select name, setting from pg_settings
     where name in ('fsync', 'synchronous_commit', 'max_connections', 'shared_buffers')`;
  return {
    date: new Date().toISOString(),
    cpuCount: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    deno: Deno.version.deno,
    node: await nodeVersion(),
    postgres: version,
    postgresSettings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
  };
}
