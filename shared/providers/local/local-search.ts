/**
 * The offline `search` provider: answers every query with one image it makes itself — a PNG of a
 * colour derived from the query, put in our own Storage — under CC0, with a credit line naming
 * it. It exercises the whole find-check-copy path of a web search without any network.
 */
import type { ObjectStorage } from "../../storage/storage.ts";
import type { ImageSearchRequest, ImageSearchResult, SearchProvider } from "../types.ts";
import { solidPng } from "./solid-png.ts";

export const LOCAL_SEARCH_SIZE = { width: 1280, height: 720 };

export interface LocalSearchDeps {
  storage: ObjectStorage;
  bucket: string;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createLocalSearchProvider(deps: LocalSearchDeps): SearchProvider {
  return {
    provider: "local",
    model: "local",
    // Its results are our own Storage's URLs (plain http on a local stack).
    allowInsecureUrls: true,
    async searchImages(request: ImageSearchRequest): Promise<ImageSearchResult[]> {
      const hash = await sha256Hex(request.query.trim().toLowerCase());
      const path = `search-local/${hash.slice(0, 32)}.png`;
      const rgb: [number, number, number] = [
        parseInt(hash.slice(0, 2), 16),
        parseInt(hash.slice(2, 4), 16),
        parseInt(hash.slice(4, 6), 16),
      ];
      const { width, height } = LOCAL_SEARCH_SIZE;
      await deps.storage.upload(deps.bucket, path, await solidPng(width, height, rgb), {
        contentType: "image/png",
        upsert: true,
      });
      return [{
        url: deps.storage.publicUrl(deps.bucket, path),
        sourceUrl: null,
        width,
        height,
        license: "cc0",
        licenseVersion: "1.0",
        licenseUrl: "https://creativecommons.org/publicdomain/zero/1.0/",
        creator: "Reelforge local search",
        attribution: "Made offline by Reelforge's local search provider, CC0 1.0",
      }];
    },
  };
}
