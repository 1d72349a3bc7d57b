/**
 * Openverse's image search, as the adapter uses it: POST /v1/auth_tokens/token/ (a form with
 * client_id, client_secret, grant_type=client_credentials) answers a bearer token;
 * GET /v1/images/?q=&page_size= (that token required) answers {result_count, page_count,
 * page_size, page, results} whose Images carry url, foreign_landing_url, creator, license,
 * license_version, license_url, attribution, width, height, filetype. Result files are served by
 * this fake: by default one good 1280×720 PNG per query; `answerWith` scripts candidates, built
 * with `candidate` to fail one check each (too small, missing, not an image, too big).
 */
import { solidPng } from "../../shared/providers/local/solid-png.ts";
import { type FakeServer, startFakeServer } from "./fake-server.ts";

export type CandidateKind = "good" | "small" | "missing" | "html" | "no_dimensions";

export interface OpenverseImage {
  id: string;
  title: string;
  url: string | null;
  foreign_landing_url: string | null;
  creator: string | null;
  license: string;
  license_version: string | null;
  license_url: string | null;
  attribution: string | null;
  width: number | null;
  height: number | null;
  filetype: string | null;
}

export interface OpenverseFake extends FakeServer {
  /** Every later search answers these kinds, in order (null: the default, one good image). */
  answerWith(kinds: CandidateKind[] | null): void;
  /** The q of every search received. */
  queries: string[];
  tokensIssued(): number;
}

export const OPENVERSE_TEST_CLIENT = { clientId: "openverse-test-id", clientSecret: "openverse-test-secret" };

export async function startOpenverseFake(
  credentials = OPENVERSE_TEST_CLIENT,
): Promise<OpenverseFake> {
  const tokens = new Set<string>();
  const server = await startFakeServer({
    authorize: (request) => tokens.has(String(request.headers.authorization ?? "").replace(/^Bearer /, "")),
  });
  server.serveFile("found.png", "image/png", () => solidPng(1280, 720, [40, 90, 140]));
  server.serveFile("page.html", "text/html", () => new TextEncoder().encode("<html></html>"));
  const queries: string[] = [];
  let kinds: CandidateKind[] | null = null;

  const image = (kind: CandidateKind, n: number): OpenverseImage => {
    const file = kind === "missing" ? "gone.png" : kind === "html" ? "page.html" : "found.png";
    return {
      id: crypto.randomUUID(),
      title: `Found ${n}`,
      url: server.fileUrl(file),
      foreign_landing_url: `https://www.flickr.com/photos/test/${n}`,
      creator: `Photographer ${n}`,
      license: "by",
      license_version: "2.0",
      license_url: "https://creativecommons.org/licenses/by/2.0/",
      attribution: `"Found ${n}" by Photographer ${n} is licensed under CC BY 2.0.`,
      width: kind === "no_dimensions" ? null : kind === "small" ? 320 : 1280,
      height: kind === "no_dimensions" ? null : kind === "small" ? 180 : 720,
      filetype: "png",
    };
  };

  server.route("POST /v1/auth_tokens/token/", ({ body }) => {
    const form = new URLSearchParams(typeof body === "string" ? body : "");
    if (
      form.get("grant_type") !== "client_credentials" || form.get("client_id") !== credentials.clientId ||
      form.get("client_secret") !== credentials.clientSecret
    ) {
      return { status: 401, body: { error: "invalid_client" } };
    }
    const token = crypto.randomUUID();
    tokens.add(token);
    return { body: { access_token: token, token_type: "Bearer", expires_in: 36_000, scope: "read write" } };
  }, { open: true });

  server.route("GET /v1/images/", ({ query }) => {
    const q = query.get("q") ?? "";
    if (!q) return { status: 400, body: { detail: "q is required" } };
    queries.push(q);
    const pageSize = Math.min(Number(query.get("page_size") ?? 20) || 20, 500);
    const results = (kinds ?? ["good"]).slice(0, pageSize).map((kind, i) => image(kind, i + 1));
    return {
      body: { result_count: results.length, page_count: 1, page_size: pageSize, page: 1, results },
    };
  });

  return Object.assign(server, {
    answerWith: (next: CandidateKind[] | null) => void (kinds = next),
    queries,
    tokensIssued: () => tokens.size,
  });
}
