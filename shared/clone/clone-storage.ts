/**
 * The clone's storage phase: this project's buckets and objects into another project's Storage.
 * Buckets first (same id, same public flag), then objects bucket by bucket in name order, one at a
 * time, streamed from source to target with their content type and cache control. Uploads upsert,
 * so resuming from a cursor that lags the target by one object re-uploads it instead of failing.
 */
import { DEFAULT_CONTENT_TYPE } from "../storage/content-types.ts";
import type { ObjectInfo, ObjectStorage } from "../storage/storage.ts";
import {
  createStorageApiClient,
  type GuardedStorageTarget,
  type StorageApiClient,
  type TargetObject,
} from "./storage-api-client.ts";

/** Where the storage phase stands; JSON, kept in the task's checkpoint. */
export interface StorageCursor {
  /** Buckets ensured on the target, in the order their objects are copied. */
  bucketsCreated: string[];
  /** The bucket whose objects are being copied; null before the first. */
  bucket: string | null;
  /** The last object of `bucket` copied; the next one sorts after it. */
  afterName: string | null;
  objectsCopied: number;
  bytesCopied: number;
}

export interface StorageMismatch {
  bucket: string;
  /** Absent when the bucket itself is missing or differs. */
  object?: string;
  source: unknown;
  target: unknown;
}

const PAGE = 100;

export function initialStorageCursor(): StorageCursor {
  return { bucketsCreated: [], bucket: null, afterName: null, objectsCopied: 0, bytesCopied: 0 };
}

/**
 * Copies until done or until the budget is exhausted (checked before each bucket and object);
 * `onProgress` gets the cursor after each one, to checkpoint. Like the rows, objects are copied
 * as they are when reached: one added behind the cursor while this runs is missed, and
 * verifyStorage reports it.
 */
export async function copyStorageStep(
  source: ObjectStorage,
  target: GuardedStorageTarget,
  cursor: StorageCursor | null,
  budget: { exhausted(): boolean },
  onProgress: (cursor: StorageCursor) => Promise<void>,
): Promise<{ done: boolean; cursor: StorageCursor }> {
  const api = createStorageApiClient(target);
  let state: StorageCursor = cursor
    ? { ...cursor, bucketsCreated: [...cursor.bucketsCreated] }
    : initialStorageCursor();
  const buckets = await source.listBuckets();

  for (const bucket of buckets) {
    if (state.bucketsCreated.includes(bucket.id)) continue;
    if (budget.exhausted()) return { done: false, cursor: state };
    await api.createBucket(bucket.id, bucket.public);
    state = { ...state, bucketsCreated: [...state.bucketsCreated, bucket.id] };
    await onProgress(state);
  }

  // Objects go bucket by bucket in the order the buckets were created, so a bucket that appears on
  // the source mid-copy is appended after the others instead of sorting behind the cursor.
  const order = state.bucketsCreated;
  for (let i = Math.max(0, state.bucket === null ? 0 : order.indexOf(state.bucket)); i < order.length; i++) {
    const bucket = order[i];
    if (state.bucket !== bucket) state = { ...state, bucket, afterName: null };
    for (;;) {
      const page = await source.listObjects(bucket, { after: state.afterName ?? undefined, limit: PAGE });
      for (const object of page) {
        if (budget.exhausted()) return { done: false, cursor: state };
        const bytes = await copyObject(source, api, bucket, object);
        state = {
          ...state,
          afterName: object.name,
          objectsCopied: state.objectsCopied + (bytes === null ? 0 : 1),
          bytesCopied: state.bytesCopied + (bytes ?? 0),
        };
        await onProgress(state);
      }
      if (page.length < PAGE) break;
    }
  }
  return { done: true, cursor: state };
}

/** The bytes copied, or null when the object was removed from the source since it was listed. */
async function copyObject(
  source: ObjectStorage,
  api: StorageApiClient,
  bucket: string,
  object: ObjectInfo,
): Promise<number | null> {
  const opened = await source.downloadStream(bucket, object.name);
  if (!opened) return null;
  try {
    await api.uploadObject(bucket, object.name, opened.body, {
      contentType: object.contentType ?? DEFAULT_CONTENT_TYPE,
      cacheControl: object.cacheControl,
      size: opened.size,
    });
  } catch (error) {
    await opened.body.cancel().catch(() => {}); // closes the source file if fetch never read it
    throw error;
  }
  return opened.size ?? object.size;
}

/**
 * Compares every source bucket with the target: the bucket exists with the same public flag, and
 * both hold the same names with the same size, content type and cache control. Holds one bucket's
 * target listing in memory (name → size and types). Returns at most `maxMismatches`.
 */
export async function verifyStorage(
  source: ObjectStorage,
  target: GuardedStorageTarget,
  { maxMismatches = 100 }: { maxMismatches?: number } = {},
): Promise<StorageMismatch[]> {
  const api = createStorageApiClient(target);
  const mismatches: StorageMismatch[] = [];
  const targetBuckets = new Map((await api.listBuckets()).map((bucket) => [bucket.id, bucket.public]));

  for (const bucket of await source.listBuckets()) {
    if (mismatches.length >= maxMismatches) break;
    if (targetBuckets.get(bucket.id) !== bucket.public) {
      const theirs = targetBuckets.has(bucket.id) ? { public: targetBuckets.get(bucket.id) } : null;
      mismatches.push({ bucket: bucket.id, source: { public: bucket.public }, target: theirs });
      if (theirs === null) continue;
    }
    const onTarget = new Map<string, TargetObject>();
    for await (const object of api.listAllObjects(bucket.id)) onTarget.set(object.name, object);
    for (let after: string | undefined = undefined;;) {
      const page = await source.listObjects(bucket.id, { after, limit: PAGE });
      for (const ours of page) {
        const theirs = onTarget.get(ours.name);
        onTarget.delete(ours.name);
        if (!theirs || !sameObject(ours, theirs)) {
          mismatches.push({
            bucket: bucket.id,
            object: ours.name,
            source: describe(ours),
            target: theirs ? describe(theirs) : null,
          });
        }
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].name;
    }
    for (const extra of onTarget.values()) {
      mismatches.push({ bucket: bucket.id, object: extra.name, source: null, target: describe(extra) });
    }
  }
  return mismatches.slice(0, maxMismatches);
}

// Storage stores what it was sent, and fills in the same defaults for what was not.
function describe(object: TargetObject) {
  return {
    size: object.size,
    contentType: object.contentType ?? DEFAULT_CONTENT_TYPE,
    cacheControl: object.cacheControl ?? "no-cache",
  };
}

function sameObject(a: TargetObject, b: TargetObject): boolean {
  const [x, y] = [describe(a), describe(b)];
  return x.size === y.size && x.contentType === y.contentType && x.cacheControl === y.cacheControl;
}
