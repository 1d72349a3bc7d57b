/**
 * What the target cannot host of a plan, found before a job exists (start) and again before a job
 * moves anything (its plan step): objects outside the cloned schemas that cloned objects use and
 * the target lacks, extensions it lacks or will not let the role create, objects only a superuser
 * may create, security label providers it has not loaded. Each is looked up or tried for real on
 * the target inside a transaction that is rolled back, because only the server knows its rules
 * (hosted Supabase lets `postgres` create event triggers and some untrusted extensions; pg_cron
 * only in the database cron.database_name names, which an ordinary role may not even read).
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { DdlStatement, HostingFinding, TargetRequirement } from "./catalog-read.ts";
import type { ClonePlan } from "./schema-plan.ts";
import { quoteIdent } from "./sql-text.ts";

export type { HostingFinding };

export interface HostingReport {
  /** Needed by cloned objects: the clone cannot be made on this target. */
  refused: HostingFinding[];
  /** Needed by nothing cloned: left out, and shown as the job's warnings. */
  skipped: HostingFinding[];
  /** The plan's statements that are left out. */
  skippedKeys: string[];
}

/** 422 target_cannot_host: names each object the target cannot host that cloned objects need. */
export class TargetCannotHostError extends AppError {
  constructor(refused: HostingFinding[]) {
    super(
      "target_cannot_host",
      422,
      `the target cannot host what the clone needs: ${
        refused.map((f) => `${f.object} (${f.reason}; needed by ${f.neededBy.join(", ")})`).join("; ")
      }`,
      { objects: refused },
    );
  }
}

const SUPERUSER: TargetRequirement = { object: "superuser", need: { kind: "superuser" }, neededBy: [] };

/** A schema that exists only inside the probes' rolled-back transactions. */
const PROBE_SCHEMA = "_reelforge_clone_probe";

class RolledBack extends Error {}

/** Tries every requirement of the plan on the target; changes nothing there. */
export async function checkTargetHosting(target: Sql, plan: ClonePlan): Promise<HostingReport> {
  const statements = [...plan.types, ...plan.schema, ...plan.postData].filter((s) => s.requires);
  const answers = new Map<string, Promise<string | null>>();
  const reasonFor = (requirement: TargetRequirement) => {
    const key = JSON.stringify(requirement.need);
    if (!answers.has(key)) answers.set(key, probe(target, requirement.need));
    return answers.get(key)!;
  };
  const report: HostingReport = { refused: [], skipped: [...(plan.notCopied ?? [])], skippedKeys: [] };
  const found = new Map<string, HostingFinding>();
  // One at a time: a clone connection has one session.
  for (const statement of statements as Required<Pick<DdlStatement, "key" | "requires">>[]) {
    const reason = await reasonFor(statement.requires);
    if (reason === null) continue;
    const { object, neededBy } = statement.requires;
    const finding = found.get(object) ?? { object, reason, neededBy: [] };
    finding.neededBy = [...new Set([...finding.neededBy, ...neededBy])];
    found.set(object, finding);
    report.skippedKeys.push(statement.key);
  }
  // The clone's schemas and its job ledger are new schemas in the target's database.
  const [database] = await target`
    select current_database() as name, has_database_privilege(current_database(), 'CREATE') as can_create`;
  if (!database.can_create) {
    found.set(`database ${database.name}`, {
      object: `database ${database.name}`,
      reason: "the target's role may not create schemas in it (it lacks the CREATE privilege)",
      neededBy: ["the cloned schemas", "the clone's job ledger"],
    });
  }
  // catalog-superuser.ts's list (plan.superuserOnly, where the plan has it): on a target whose
  // role is not a superuser, what something uses refuses the clone and the rest is left out. A
  // plan stored before the list said what uses each refuses them all rather than fail later.
  const superuserOnly = plan.superuserOnly ?? [];
  if (superuserOnly.length > 0 && await reasonFor(SUPERUSER) !== null) {
    for (const { name, reason, key, neededBy } of superuserOnly) {
      const users = !neededBy
        ? ["the clone (what depends on it is not traced, so it is not left out)"]
        : neededBy.length > 5
        ? [...neededBy.slice(0, 5), `${neededBy.length - 5} more`]
        : neededBy;
      found.set(name, {
        object: name,
        reason: `${reason}, and the target's role is not one`,
        neededBy: users,
      });
      if (users.length > 0 || !key) continue;
      report.skippedKeys.push(key);
      // An operator family's loose members go with it.
      if (key.startsWith("operator-family:")) {
        report.skippedKeys.push(`operator-family-members:${key.slice("operator-family:".length)}`);
      }
    }
  }
  for (const dependency of plan.external ?? []) {
    if (await hasObject(target, dependency.address)) continue;
    const { object, neededBy } = dependency;
    found.set(object, {
      object,
      reason: "the target has no such object; the clone does not make it",
      neededBy,
    });
  }
  for (const finding of found.values()) {
    (finding.neededBy.length > 0 ? report.refused : report.skipped).push(finding);
  }
  return report;
}

/** The plan without the statements the report skips, which it lists as `skipped`. */
export function withoutSkipped(plan: ClonePlan, report: HostingReport): ClonePlan {
  const skipped = new Set(report.skippedKeys);
  const keep = (statements: DdlStatement[]) => statements.filter((s) => !skipped.has(s.key));
  return {
    ...plan,
    types: keep(plan.types),
    schema: keep(plan.schema),
    postData: keep(plan.postData),
    skipped: report.skipped,
  };
}

/** Whether the target has the object at a catalog address (pg_identify_object_as_address's). */
async function hasObject(target: Sql, address: { type: string; names: string[]; args: string[] }) {
  try {
    await target`select pg_get_object_address(${address.type}, ${address.names}::text[], ${address.args}::text[])`;
    return true;
  } catch (error) {
    if ((error as { name?: string })?.name !== "PostgresError") throw error;
    return false;
  }
}

/** Why the target cannot give `need`, or null when it can. */
async function probe(target: Sql, need: TargetRequirement["need"]): Promise<string | null> {
  switch (need.kind) {
    case "superuser": {
      const [row] = await target`select rolsuper from pg_roles where rolname = current_user`;
      return row?.rolsuper ? null : "only a superuser may create it, and the target's role is not one";
    }
    case "extension": {
      const [row] = await target`
        select (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
                 where e.extname = ${need.name}) as installed_in,
               (select e.extrelocatable from pg_extension e where e.extname = ${need.name}) as relocatable,
               exists (select from pg_available_extensions where name = ${need.name}) as available`;
      if (row.installed_in === need.schema) return null;
      // `create extension if not exists` would do nothing, and the cloned objects name its types
      // and functions in the source's schema, where the target has none of them.
      if (row.installed_in !== null) {
        return extensionElsewhere(need.name, need.schema, row.installed_in, row.relocatable);
      }
      if (!row.available) return "the target's server does not have this extension";
      return await tryAndRollBack(target, async (tx) => {
        await tx.unsafe(`create schema if not exists ${quoteIdent(need.schema)}`);
        await tx.unsafe(
          `create extension ${quoteIdent(need.name)} with schema ${quoteIdent(need.schema)} cascade`,
        );
      });
    }
    case "event_trigger":
      return await tryAndRollBack(target, async (tx) => {
        await tx.unsafe(`create schema ${PROBE_SCHEMA}`);
        await tx.unsafe(`create function ${PROBE_SCHEMA}.probe() returns event_trigger language plpgsql
                           as 'begin end'`);
        await tx.unsafe(`create event trigger _reelforge_clone_probe on ddl_command_end
                           execute function ${PROBE_SCHEMA}.probe()`);
      });
    case "label_provider":
      return await tryAndRollBack(target, async (tx) => {
        await tx.unsafe(`create schema ${PROBE_SCHEMA}`);
        await tx.unsafe(`security label for ${quoteIdent(need.provider)} on schema ${PROBE_SCHEMA} is null`);
      });
  }
}

/** Why an extension the target has in another schema than the source's will not do, and what will. */
function extensionElsewhere(name: string, sourceSchema: string, targetSchema: string, relocatable: boolean) {
  const [extension, schema] = [quoteIdent(name), quoteIdent(sourceSchema)];
  const found =
    `the target has it in schema ${targetSchema}, but the cloned objects name it in ${sourceSchema}`;
  // ALTER EXTENSION SET SCHEMA needs the owner of its objects, and a trusted extension's belong to
  // the superuser, not the role that created it: that role can still drop and create it.
  const recreate = `\`drop extension ${extension}; create schema if not exists ${schema}; ` +
    `create extension ${extension} with schema ${schema}\` if nothing there uses it`;
  return relocatable
    ? `${found}; on the target, move it (\`alter extension ${extension} set schema ${schema}\`, as the owner ` +
      `of its objects) or recreate it (${recreate}), or clone into a database without it`
    : `${found}; it is not relocatable: on the target, recreate it (${recreate}), or clone into a database without it`;
}

/** Runs `attempt` in a transaction that is always rolled back: null if it worked, else the server's message. */
async function tryAndRollBack(
  target: Sql,
  attempt: (tx: TransactionSql) => Promise<void>,
): Promise<string | null> {
  try {
    await target.begin(async (tx) => {
      await attempt(tx);
      throw new RolledBack();
    });
  } catch (error) {
    if (error instanceof RolledBack) return null;
    // Only the server's refusal is an answer; a lost connection is not one.
    if ((error as { name?: string })?.name !== "PostgresError") throw error;
    // The server's message about the attempted statement (no host or credentials in it), kept short.
    // The probe's own names say nothing to the reader.
    return String((error as Error).message).replaceAll(/ ?"?_reelforge_clone_probe"?/g, "").slice(0, 300);
  }
  return null;
}
