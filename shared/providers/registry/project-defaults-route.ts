/**
 * POST /providers/defaults: the provider actions over the project-wide defaults, for the service
 * role only. The user route refuses API keys (it needs a signed-in user), so defaults get their
 * own path, authenticated by comparing the bearer with the function's SUPABASE_SERVICE_ROLE_KEY —
 * that also holds for non-JWT secret keys, which carry no role claim to read.
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { Caller } from "../../auth/caller.ts";
import { secretsEqual } from "../../auth/caller.ts";
import { BadRequestError, UnauthorizedError } from "../../errors.ts";
import type { ActionSpec } from "../../http/function-app.ts";
import { parseInput, readJsonObject } from "../../http/read-body.ts";

const SERVICE_CALLER: Caller = { userId: "", role: "service_role", isAnonymous: false, isServiceRole: true, isOperator: true };
const actionName = z.object({ action: z.string({ error: "action is required (a string)" }) }).passthrough();

export function mountProjectDefaultsRoute(app: Hono, actions: Record<string, ActionSpec>, serviceRoleKey: string): void {
  app.post("/defaults", async (c) => {
    const token = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!secretsEqual(token, serviceRoleKey)) {
      throw new UnauthorizedError("Project default providers are managed with the service role key only");
    }
    const { action, ...input } = parseInput(actionName, await readJsonObject(c));
    const spec = Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (!spec) {
      throw new BadRequestError("unknown_action", `Unknown action "${action}" for providers/defaults; expected one of: ${Object.keys(actions).join(", ")}`);
    }
    const { status = 200, body } = await spec.run(parseInput(spec.input, input), SERVICE_CALLER);
    return c.json(body as Record<string, unknown>, status as 200);
  });
}
