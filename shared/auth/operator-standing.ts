/**
 * Whether a user is an operator now, by their stored app_metadata (auth.users) rather than the
 * copy their access token carries: a token signed before a demotion stays valid until it expires
 * (an hour by default), and must not keep admitting its holder to an operator function (the
 * clone copies every tenant's data). A deleted account is no operator either. The rule is
 * engine.is_stored_operator's, which public.set_usage_limits asks too.
 */
import type { Sql } from "../db/client.ts";

export type OperatorStanding = (userId: string) => Promise<boolean>;

export function operatorStanding(sql: Sql): OperatorStanding {
  return async (userId) => {
    const [row] = await sql<{ operator: boolean }[]>`select engine.is_stored_operator(${userId}) as operator`;
    return row?.operator === true;
  };
}
