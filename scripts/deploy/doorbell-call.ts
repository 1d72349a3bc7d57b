/**
 * Rings one function's doorbell (POST /<fn>/task-slice) with the internal secret for a task that
 * does not exist: a function that runs tasks answers 202 (nothing to claim) only if its
 * REELFORGE_INTERNAL_SECRET is the one given, 401 otherwise; one that runs none answers 404.
 * Nothing is claimed or changed either way.
 */
export type DoorbellAnswer = "accepted" | "runs_no_tasks";

export async function ringEmptyDoorbell(
  functionsUrl: string,
  name: string,
  apiKey: string,
  internalSecret: string,
): Promise<DoorbellAnswer> {
  const response = await fetch(`${functionsUrl}/${name}/task-slice`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${apiKey}`,
      "x-reelforge-internal": internalSecret,
    },
    body: JSON.stringify({ taskId: crypto.randomUUID() }),
  });
  const body = await response.json().catch(() => null) as {
    accepted?: unknown;
    error?: { code?: string; message?: string };
  } | null;
  if (response.status === 202 && body?.accepted === true) return "accepted";
  if (response.status === 404 && /runs no tasks/.test(body?.error?.message ?? "")) return "runs_no_tasks";
  if (response.status === 401 && body?.error) {
    throw new Error(
      `${name} refused the doorbell with the deploy's internal secret (401): its REELFORGE_INTERNAL_SECRET is another one`,
    );
  }
  throw new Error(
    `${name} is not served as deployed: POST ${functionsUrl}/${name}/task-slice answered ${response.status} ${
      JSON.stringify(body)
    }`,
  );
}
