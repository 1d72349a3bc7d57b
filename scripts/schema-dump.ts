/**
 * `npm run schema:dump`: writes supabase/schema.sql, the schema migrations/ makes, so a reader sees
 * every table and the current body of every function in one place. Generated, committed, and
 * checked by tests/integration/schema-snapshot.test.ts. Needs the stack's Debian packages
 * (postgresql-15, postgresql-15-cron), not a running stack.
 */
import { writeFileSync } from "node:fs";
import { SCHEMA_FILE, schemaFileText } from "./schema/schema-dump.ts";

writeFileSync(SCHEMA_FILE, await schemaFileText());
console.log(`wrote ${SCHEMA_FILE}`);
