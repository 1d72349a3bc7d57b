import type { Config } from "./config.ts";
import type { Sql } from "./db/client.ts";
import type { TaskStore } from "./engine/task-store.ts";

/** Side effects a function's actions and task handlers receive; nothing reads globals. */
export interface FunctionDeps {
  config: Config;
  sql: Sql;
  store: TaskStore;
}
