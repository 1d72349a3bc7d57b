/**
 * Provider output URLs expire (Runway's in 24–48 h), so every output is copied into our Storage
 * the moment its job succeeds. The body is streamed, never held whole: a film's clip can be large
 * and a function has 256 MB. The copy refuses what cannot be the media we asked for — wrong
 * content type, empty, or over the size limit — as a ProviderError naming the provider.
 *
 * The URL comes from a provider's answer, not from a user, but the server fetches it all the same:
 * each hop (at most MAX_REDIRECTS redirects, followed by hand) must be https and resolve to public
 * addresses only, so a provider's answer cannot point the function at loopback, a private network
 * or the metadata service. With allowInsecureUrls (local fakes) http and loopback/private hosts
 * pass; metadata and link-local addresses never do.
 */
import { TargetNotAllowedError } from "../errors.ts";
import { lookupAllAddresses } from "../net/dns-lookup.ts";
import { createOutboundGuard, type ResolveHost } from "../net/outbound-guard.ts";
import { isAllowedUrl, type MediaKind } from "./http/media-url.ts";
import { ProviderError } from "./provider-errors.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { contentTypeFromExtension } from "../storage/content-types.ts";

export interface CopyToStorage {
  provider: string;
  url: string;
  kind: MediaKind;
  storage: ObjectStorage;
  bucket: string;
  path: string;
  /** Default 500 MB. */
  maxBytes?: number;
  /** For the whole copy, body included. Default 120 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  allowInsecureUrls?: boolean;
  /** How output hosts are resolved for the address check; the system resolver by default. */
  resolve?: ResolveHost;
}

const MAX_REDIRECTS = 3;

export interface StoredCopy {
  publicUrl: string;
  contentType: string;
  bytes: number;
}

export async function copyToStorage(copy: CopyToStorage): Promise<StoredCopy> {
  const { provider, kind } = copy;
  const fail = (
    failureCode: string,
    detail: string,
    retryable: boolean,
    httpStatus?: number,
    cause?: unknown,
  ): never => {
    throw new ProviderError(
      { provider, httpStatus, failureCode, retryable },
      `copying the ${kind} output: ${detail}`,
      { cause },
    );
  };
  if (!isAllowedUrl(copy.url, copy.allowInsecureUrls)) {
    fail("invalid_output_url", "the output URL is not https", false);
  }
  const maxBytes = copy.maxBytes ?? 500 * 1024 * 1024;
  const guard = createOutboundGuard({
    allowPrivate: copy.allowInsecureUrls === true,
    resolve: copy.resolve ?? lookupAllAddresses,
  });
  const signal = AbortSignal.timeout(copy.timeoutMs ?? 120_000);
  let response!: Response;
  let url = copy.url;
  for (let hop = 0;; hop++) {
    try {
      await guard.checkHost(new URL(url).hostname, "the output URL");
      response = await (copy.fetch ?? globalThis.fetch)(url, { signal, redirect: "manual" });
    } catch (error) {
      if (error instanceof TargetNotAllowedError) return fail("invalid_output_url", error.message, false);
      // Transport text names hosts and addresses: it rides along as the cause, for the log only.
      return fail(
        "output_download_failed",
        (error as Error).name === "TimeoutError" ? "no answer in time" : "could not reach it",
        true,
        undefined,
        error,
      );
    }
    const location = response.status >= 300 && response.status < 400
      ? response.headers.get("location")
      : null;
    if (location === null) break;
    await response.body?.cancel();
    if (hop === MAX_REDIRECTS) fail("output_download_failed", `more than ${MAX_REDIRECTS} redirects`, false);
    url = new URL(location, url).href;
    if (!isAllowedUrl(url, copy.allowInsecureUrls)) {
      fail("invalid_output_url", "the output URL redirects to a URL that is not https", false);
    }
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    // A 403/404 from a signed provider URL usually means it expired: fetching again will not help.
    return fail(
      "output_download_failed",
      `HTTP ${response.status}`,
      response.status >= 500 || response.status === 429,
      response.status,
    );
  }
  const declared = response.headers.get("content-type")?.split(";")[0].trim().toLowerCase() ?? "";
  // Object stores often serve generic types; the path's extension is the fallback then.
  const contentType =
    declared && declared !== "application/octet-stream" && declared !== "binary/octet-stream"
      ? declared
      : contentTypeFromExtension(copy.path);
  const length = response.headers.get("content-length");
  const problem = !contentType.startsWith(`${kind}/`)
    ? `it is ${declared || "untyped"}, not ${kind}/*`
    : length !== null && Number(length) === 0
    ? "it is empty"
    : length !== null && Number(length) > maxBytes
    ? `it is ${length} bytes, over ${maxBytes}`
    : null;
  if (problem) {
    await response.body.cancel();
    fail("invalid_output", problem, false);
  }
  let bytes = 0;
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) {
          controller.error(
            new ProviderError(
              { provider, failureCode: "invalid_output", retryable: false },
              `copying the ${kind} output: over ${maxBytes} bytes`,
            ),
          );
        } else controller.enqueue(chunk);
      },
      flush(controller) {
        if (bytes === 0) {
          controller.error(
            new ProviderError(
              { provider, failureCode: "invalid_output", retryable: false },
              `copying the ${kind} output: it is empty`,
            ),
          );
        }
      },
    }),
  );
  try {
    await copy.storage.upload(copy.bucket, copy.path, counted, { contentType, upsert: true });
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") {
      fail("output_download_failed", "the download stalled past its time limit", true);
    }
    throw error;
  }
  return { publicUrl: copy.storage.publicUrl(copy.bucket, copy.path), contentType, bytes };
}
