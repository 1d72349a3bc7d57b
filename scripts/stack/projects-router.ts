/**
 * /_projects/<name>/storage/v1/... — another "project" for tests to clone into: the same Storage
 * API as the stack's own, with its metadata in a database of its own in the stack's cluster
 * (`reelforge_project_<name>`, given the storage schema on first use, as a new project has it) and
 * its bytes under `<stack>/projects/<name>/storage`. Same keys as the stack (one JWT secret).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import postgres from "postgres";
import type { CallerResolver } from "./storage-callers.ts";
import { createStorageApi, STORAGE_API_PREFIX } from "./storage-api.ts";
import { StorageApiError, storageErrorResponse, storageErrors } from "./storage-errors.ts";
import { REPO_DIR } from "./stack-layout.ts";

export const PROJECTS_PREFIX = "/_projects/";
const PROJECT_PATH = /^\/_projects\/([a-z0-9][a-z0-9_-]{0,40})(\/storage\/v1\/.*)$/;

export interface ProjectsRouterOptions {
  projectsDir: string;
  /** The cluster as supabase_admin (creates each project's database) and as supabase_storage_admin. */
  adminDbUrl: string;
  storageDbUrl: string;
  jwtSecret: string;
  callerOf: CallerResolver;
  fileSizeLimit: () => number;
}

/** The database holding a project's storage schema. */
export const projectDatabase = (name: string) => `reelforge_project_${name}`;

export function createProjectsRouter(options: ProjectsRouterOptions) {
  const projects = new Map<string, Promise<ReturnType<typeof createStorageApi>>>();

  async function openProject(name: string) {
    const database = projectDatabase(name);
    const admin = postgres(options.adminDbUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database "${database}"`).catch((error) => {
        if (error?.code !== "42P04") throw error; // duplicate_database: made by an earlier start
      });
    } finally {
      await admin.end();
    }
    const schema = await readFile(join(REPO_DIR, "scripts", "stack", "storage-schema.sql"), "utf8");
    const adminOfProject = postgres(withDatabase(options.adminDbUrl, database), {
      max: 1,
      onnotice: () => {},
    });
    try {
      await adminOfProject.begin((tx) => tx.unsafe(schema));
    } finally {
      await adminOfProject.end();
    }
    const sql = postgres(withDatabase(options.storageDbUrl, database), {
      max: 2,
      idle_timeout: 20,
      onnotice: () => {},
      connection: { application_name: `stack:storage:${name}` },
    });
    return createStorageApi({ ...options, sql, dir: join(options.projectsDir, name, "storage") });
  }

  function project(name: string) {
    let found = projects.get(name);
    if (!found) {
      found = openProject(name);
      found.catch(() => projects.delete(name)); // a failed setup is retried by the next request
      projects.set(name, found);
    }
    return found;
  }

  return async function routeProjectRequest(request: Request, pathname: string): Promise<Response> {
    const match = pathname.match(PROJECT_PATH);
    if (!match || !match[2].startsWith(STORAGE_API_PREFIX)) {
      return storageErrorResponse(
        storageErrors.notFoundRoute(
          "Use /_projects/<name>/storage/v1/... (name: lowercase letters, digits, - and _)",
        ),
      );
    }
    const [, name, rest] = match;
    // Only the service role brings a project into being, as only its owner makes one on the
    // platform; anyone else reaches a project that exists. Before, any request, even one without a
    // key, created a database (and kept a pool for it) for every name it tried.
    if (!projects.has(name)) {
      const caller = await options.callerOf(request).catch((error) => error);
      if (caller instanceof StorageApiError) return storageErrorResponse(caller);
      if (caller.role !== "service_role" && !(await databaseExists(name))) {
        await request.body?.cancel();
        return storageErrorResponse(storageErrors.notFoundRoute(`No project ${name} on this stack`));
      }
    }
    return await (await project(name))(request, rest);
  };

  async function databaseExists(name: string): Promise<boolean> {
    const admin = postgres(options.adminDbUrl, { max: 1, onnotice: () => {} });
    try {
      return (await admin`select 1 from pg_database where datname = ${projectDatabase(name)}`).length > 0;
    } finally {
      await admin.end();
    }
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}
