/**
 * A slice's numbered sessions on the source and the target, for the phases that work on a few at
 * once (post_data's builds, verify's hashes). Session 0 is the slice's own pair of connections;
 * the others open when first asked for and close with the slice.
 */
import type { Sql } from "../db/client.ts";
import { refusedForLackOfSlots } from "./clone-connections.ts";

export interface SessionOpeners {
  source: () => Sql;
  /** Checked like the slice's own target connection (clone-target.ts). */
  target: () => Promise<Sql>;
}

export type CloneSessions = ReturnType<typeof cloneSessions>;

export function cloneSessions(first: { source: Sql; target: Sql }, open: SessionOpeners) {
  const sources: Sql[] = [first.source];
  const targets: Promise<Sql>[] = [Promise.resolve(first.target)];
  const target = (session: number) => (targets[session] ??= open.target());
  const source = (session: number) => (sources[session] ??= open.source());

  /** Opens session `session` on the sides asked for; false (and it stays closed) when refused for lack of slots. */
  async function tryOpen(session: number, sides: "target" | "both"): Promise<boolean> {
    try {
      const onTarget = await target(session);
      await onTarget`select 1`;
      if (sides === "both") {
        const onSource = source(session);
        await onSource`select 1`;
      }
      return true;
    } catch (error) {
      if (!refusedForLackOfSlots(error)) throw error;
      // This session and any later one close: sessions stay numbered 0..n-1.
      const dropped = [...targets.splice(session), ...sources.splice(session)];
      await Promise.allSettled(dropped.map(endSession));
      return false;
    }
  }

  return {
    source,
    target,
    async open(wanted: number, sides: "target" | "both"): Promise<number> {
      // Extra sessions only: the slice's own connections are open already and errors there count.
      for (let session = 1; session < wanted; session++) {
        if (!(await tryOpen(session, sides))) return session;
      }
      return Math.max(1, wanted);
    },
    /** Closes the extra sessions (the slice closes its own). */
    async close(): Promise<void> {
      const extra = [...targets.slice(1), ...sources.slice(1)];
      await Promise.allSettled(extra.map(endSession));
    },
  };
}

async function endSession(opening: Sql | Promise<Sql> | undefined): Promise<void> {
  const sql = await opening;
  if (sql) await sql.end({ timeout: 1 });
}
