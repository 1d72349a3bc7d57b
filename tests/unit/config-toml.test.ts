import { describe, expect, it } from "vitest";
import { parseTomlTables } from "../../scripts/stack/config-toml.ts";

describe("config.toml reader", () => {
  it("reads function tables with strings, booleans, numbers and arrays", () => {
    const tables = parseTomlTables(`
project_id = "reelforge" # trailing comment
[db]
port = 54322
[db.seed]
sql_paths = ["../seed/*.sql", './more.sql']
[functions.produce-movie]
enabled = true
verify_jwt = false
entrypoint = "../functions/produce-movie/index.ts"
`);
    expect(tables.get("")).toEqual({ project_id: "reelforge" });
    expect(tables.get("db")).toEqual({ port: 54322 });
    expect(tables.get("db.seed")).toEqual({ sql_paths: ["../seed/*.sql", "./more.sql"] });
    expect(tables.get("functions.produce-movie")).toEqual({
      enabled: true,
      verify_jwt: false,
      entrypoint: "../functions/produce-movie/index.ts",
    });
  });

  it("keeps a # inside a quoted string", () => {
    expect(parseTomlTables(`name = "a # b"`).get("")).toEqual({ name: "a # b" });
  });
});
