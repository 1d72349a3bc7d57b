/**
 * The private `media` bucket, checked and if missing created through the Storage REST API with the
 * service role key, as on a hosted project (a migration creates it too; this makes sure).
 */
export const MEDIA_BUCKET = "media";

export type BucketOutcome = "exists" | "created";

/** Throws when the bucket exists but is public: signed URLs only (flip it in the Dashboard). */
export async function ensurePrivateBucket(
  storageUrl: string,
  serviceKey: string,
  id = MEDIA_BUCKET,
): Promise<BucketOutcome> {
  const headers = {
    authorization: `Bearer ${serviceKey}`,
    apikey: serviceKey,
    "content-type": "application/json",
  };
  const existing = await readBucket(storageUrl, headers, id);
  if (existing) return assertPrivate(existing, id, "exists");
  const created = await fetch(`${storageUrl}/bucket`, {
    method: "POST",
    headers,
    body: JSON.stringify({ id, name: id, public: false }),
  });
  const body = await created.json().catch(() => ({}));
  // Someone made it between our read and our create: then it is read again below.
  if (!created.ok && !isStatus(created, body, 409)) {
    throw new Error(`creating bucket ${id} failed: ${created.status} ${JSON.stringify(body)}`);
  }
  const after = await readBucket(storageUrl, headers, id);
  if (!after) throw new Error(`bucket ${id} was created but GET /bucket/${id} does not find it`);
  return assertPrivate(after, id, created.ok ? "created" : "exists");
}

async function readBucket(
  storageUrl: string,
  headers: Record<string, string>,
  id: string,
): Promise<{ public?: unknown } | null> {
  const response = await fetch(`${storageUrl}/bucket/${encodeURIComponent(id)}`, { headers });
  const body = await response.json().catch(() => ({}));
  if (response.ok) return body;
  // Storage has answered a missing bucket both as HTTP 404 and as HTTP 400 {statusCode: "404"}.
  if (isStatus(response, body, 404)) return null;
  throw new Error(`GET /storage/v1/bucket/${id}: ${response.status} ${JSON.stringify(body)}`);
}

function isStatus(response: Response, body: { statusCode?: unknown }, status: number): boolean {
  return response.status === status || String(body?.statusCode) === String(status);
}

function assertPrivate(bucket: { public?: unknown }, id: string, outcome: BucketOutcome): BucketOutcome {
  if (bucket.public !== false) {
    throw new Error(
      `bucket ${id} is public: media is served by signed URLs only; make it private (Dashboard → Storage → ${id} → Edit)`,
    );
  }
  return outcome;
}
