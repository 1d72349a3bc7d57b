/**
 * Whose objects a URL may be signed for, or read for. Anyone who can put a string in front of the
 * signing (a prompt handed to a provider, a field of a film) could otherwise name another user's
 * private object by its address and have it signed: a tenant's prompt naming another tenant's
 * poster got a 24-hour signed URL of it sent to a provider that user's own key reads back. So a
 * signing reaches the media bucket's folders of one user only, and the folders that belong to no
 * one. Reads with the service role for a task (its inputs, a provider's or a search's answer)
 * keep to the same objects: a provider answering with another tenant's address had their poster
 * copied into the caller's preview, and their picture rendered into the caller's clip.
 */
import { type MaySign, objectOfUrl, type StorageObjectRef } from "./signed-urls.ts";
import type { ObjectStorage } from "./storage.ts";

/** Every folder of the media bucket a user's files are in: their films', previews' and offline providers' outputs. */
export const accountPrefixes = (
  userId: string,
) => [`films/${userId}/`, `assets/${userId}/`, `local/${userId}/`];

/** Folders of no one's files, readable by every film: the offline search provider's made-up images. */
export const SHARED_PREFIXES = ["search-local/"];

/** Which objects a signing or a read for `userId` may reach: theirs and the shared ones, in the media bucket. */
export function ownerObjects(userId: string, mediaBucket: string): MaySign {
  const prefixes = [...accountPrefixes(userId), ...SHARED_PREFIXES];
  return (ref) =>
    ref.bucket === mediaBucket && !ref.path.split("/").includes("..") &&
    prefixes.some((prefix) => ref.path.startsWith(prefix));
}

/**
 * Which of our objects work for a task may read with the service role: its owner's (the task
 * row's user_id, which no tenant sets) and the shared ones. A task with no owner was enqueued by
 * the service role itself (engine.enqueue_task is not granted to users), which reads every object
 * anyway: it keeps reaching all of them.
 */
export function taskObjects(ownerId: string | null, mediaBucket: string): MaySign {
  return ownerId === null ? () => true : ownerObjects(ownerId, mediaBucket);
}

/**
 * What a URL handed to a task names: one of our objects `may` lets it read, `"not_yours"` for one
 * of ours it may not, or null for a URL elsewhere. The refusal is decided from the address alone,
 * before any read, so it reads the same whether the object exists or not.
 */
export function readableObject(
  storage: ObjectStorage,
  url: string,
  may: MaySign,
): StorageObjectRef | "not_yours" | null {
  const ref = objectOfUrl(storage, url);
  if (ref === null) return null;
  return may(ref) ? ref : "not_yours";
}
