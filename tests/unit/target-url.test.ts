import { describe, expect, it } from "vitest";
import { parseTargetUrl } from "../../shared/clone/target-url.ts";
import { BadRequestError } from "../../shared/errors.ts";

describe("clone target URL", () => {
  it("accepts a postgres URL and masks its password", () => {
    const target = parseTargetUrl("postgresql://postgres:s3cret@db.abc.supabase.co:6543/postgres");
    expect(target).toMatchObject({
      host: "db.abc.supabase.co",
      port: 6543,
      database: "postgres",
      user: "postgres",
    });
    expect(target.masked).toBe("postgresql://postgres:****@db.abc.supabase.co:6543/postgres");
    expect(target.masked).not.toContain("s3cret");
  });

  it("keeps the TLS mode it names, and refuses one libpq does not know", () => {
    expect(parseTargetUrl("postgres://u:p@h/db?sslmode=verify-full").sslmode).toBe("verify-full");
    expect(parseTargetUrl("postgres://u:p@h/db?ssl=no-verify").sslmode).toBe("no-verify");
    expect(parseTargetUrl("postgres://u:p@h/db").sslmode).toBeNull();
    // Before: any other value was taken as verify-full.
    expect(() => parseTargetUrl("postgres://u:p@h/db?sslmode=verify_full")).toThrow(
      "targetUrl's sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full",
    );
  });

  it("defaults the port to 5432", () => {
    expect(parseTargetUrl("postgres://u:p@h/db").port).toBe(5432);
  });

  it.each([
    ["not a URL", "hello"],
    ["another scheme", "mysql://u:p@h/db"],
    ["no database", "postgresql://u:p@h:5432/"],
    ["no user", "postgresql://h:5432/db"],
    ["a path instead of a database", "postgresql://u:p@h/db/extra"],
  ])("refuses %s with a 400", (_label, url) => {
    expect(() => parseTargetUrl(url)).toThrow(BadRequestError);
  });

  it.each([
    ["database name", "postgresql://u:p@h/%zz"],
    ["user name", "postgresql://%zz:p@h/db"],
    ["password", "postgresql://u:%zz@h/db"],
    ["password", "postgresql://u:s3cret%@h/db"],
  ])("refuses a malformed escape in the %s with a 400 that does not show it", (what, url) => {
    // Before: a URIError, answered 500 internal_error.
    let error: unknown;
    try {
      parseTargetUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe(
      `targetUrl's ${what} has a malformed %-escape; write a literal % as %25`,
    );
    expect((error as Error).message).not.toContain("s3cret");
  });

  it("decodes a well-formed escape in the user name and database", () => {
    expect(parseTargetUrl("postgresql://app%40team:p%25w@h/my%20db")).toMatchObject({
      user: "app@team",
      database: "my db",
    });
  });
});
