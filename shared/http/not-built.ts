import { z } from "zod";
import { NotImplementedError } from "../errors.ts";
import { type ActionSpec, defineAction } from "./function-app.ts";

/** Actions of a function whose capability is not built yet: an honest 501, never a fake success. */
export function notBuiltActions(functionName: string, actions: string[], issue: string): Record<string, ActionSpec> {
  return Object.fromEntries(actions.map((action) => [
    action,
    defineAction({
      input: z.object({}).passthrough(),
      run() {
        throw new NotImplementedError(`${functionName}: action "${action}" is not built yet (${issue})`);
      },
    }),
  ]));
}
