import { signJwt } from "../../scripts/stack/jwt.ts";
import { createUser, type Sql, stackEnv, type TestUser } from "./stack.ts";

/**
 * A user of the project's admin team: app_metadata.reelforge_role = "operator" in auth.users (the
 * only place it can be written: server-side) and in the access token, as the auth server would
 * issue it. A thin wrapper over createUser.
 */
export async function createOperator(sql: Sql): Promise<TestUser> {
  const user = await createUser(sql);
  const appMetadata = { reelforge_role: "operator" };
  await sql`update auth.users set raw_app_meta_data = raw_app_meta_data || ${sql.json(appMetadata)} where id = ${user.id}`;
  const token = await signJwt(
    { sub: user.id, role: "authenticated", aud: "authenticated", app_metadata: appMetadata, exp: Math.floor(Date.now() / 1000) + 3600 },
    stackEnv().JWT_SECRET,
  );
  return { id: user.id, token };
}
