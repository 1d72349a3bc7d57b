/**
 * POST /providers/defaults: the provider actions over the project-wide defaults, for the service
 * role only. The user route refuses API keys (it needs a signed-in user), so defaults get their
 * own path, open to a verified service-role credential only (the legacy service_role JWT or an
 * sb_secret_ key, through the same authenticator as every other route).
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { Authenticator } from "../../auth/authenticate.ts";
import { SERVICE_ROLE_CALLER } from "../../auth/caller.ts";
import { BadRequestError, quoted, UnauthorizedError } from "../../errors.ts";
import type { ActionSpec } from "../../http/function-app.ts";
import { parseInput, readJsonObject, requiredAs } from "../../http/read-body.ts";

const actionName = z.object({ action: z.string({ error: requiredAs("action", "a string") }) }).passthrough();

export function mountProjectDefaultsRoute(
  app: Hono,
  actions: Record<string, ActionSpec>,
  authenticate: Authenticator,
): void {
  app.post("/defaults", async (c) => {
    const principal = await authenticate({
      authorization: c.req.header("authorization"),
      apikey: c.req.header("apikey"),
    });
    if (principal?.kind !== "service_role") {
      throw new UnauthorizedError("Project default providers are managed with the service role key only");
    }
    const { action, ...input } = parseInput(actionName, await readJsonObject(c));
    const spec = Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (!spec) {
      throw new BadRequestError(
        "unknown_action",
        `Unknown action ${quoted(action)} for providers/defaults; expected one of: ${
          Object.keys(actions).join(", ")
        }`,
      );
    }
    const { status = 200, body } = await spec.run(parseInput(spec.input, input), SERVICE_ROLE_CALLER);
    return c.json(body as Record<string, unknown>, status as 200);
  });
}
