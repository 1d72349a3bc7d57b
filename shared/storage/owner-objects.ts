/**
 * Whose objects a URL may be signed for. Anyone who can put a string in front of the signing
 * (a prompt handed to a provider, a field of a film) could otherwise name another user's private
 * object by its address and have it signed: a tenant's prompt naming another tenant's poster got
 * a 24-hour signed URL of it sent to a provider that user's own key reads back. So a signing
 * reaches the media bucket's folders of one user only, and the folders that belong to no one.
 */
import type { StorageObjectRef } from "./signed-urls.ts";

/** Every folder of the media bucket a user's files are in: their films', previews' and offline providers' outputs. */
export const accountPrefixes = (
  userId: string,
) => [`films/${userId}/`, `assets/${userId}/`, `local/${userId}/`];

/** Folders of no one's files, readable by every film: the offline search provider's made-up images. */
export const SHARED_PREFIXES = ["search-local/"];

/** Which objects a signing for `userId` may reach: theirs and the shared ones, in the media bucket. */
export function ownerObjects(userId: string, mediaBucket: string): (ref: StorageObjectRef) => boolean {
  const prefixes = [...accountPrefixes(userId), ...SHARED_PREFIXES];
  return (ref) =>
    ref.bucket === mediaBucket && !ref.path.split("/").includes("..") &&
    prefixes.some((prefix) => ref.path.startsWith(prefix));
}
