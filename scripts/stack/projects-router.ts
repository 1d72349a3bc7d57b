/**
 * /_projects/<name>/storage/v1/... — another "project" for tests to clone into: the same Storage
 * API and public route as the stack's own, over `<stack>/projects/<name>/storage`, created on
 * first use. Same service role key as the stack (one JWT secret).
 */
import { join } from "node:path";
import { createStorageApi, storageError, STORAGE_API_PREFIX } from "./storage-api.ts";
import { createStorageServer, PUBLIC_OBJECT_PREFIX } from "./storage-server.ts";

export const PROJECTS_PREFIX = "/_projects/";
const PROJECT_PATH = /^\/_projects\/([a-z0-9][a-z0-9_-]{0,62})(\/storage\/v1\/.*)$/;

export function createProjectsRouter(options: { projectsDir: string; apiUrl: string; serviceRoleKey: string }) {
  const projects = new Map<string, { servePublicObject: ReturnType<typeof createStorageServer>; handleStorageApi: ReturnType<typeof createStorageApi> }>();

  function project(name: string) {
    let found = projects.get(name);
    if (!found) {
      const dir = join(options.projectsDir, name, "storage");
      found = {
        servePublicObject: createStorageServer(dir),
        handleStorageApi: createStorageApi({
          dir,
          serviceRoleKey: options.serviceRoleKey,
          publicBaseUrl: `${options.apiUrl}/_projects/${name}/storage/v1/object/public`,
        }),
      };
      projects.set(name, found);
    }
    return found;
  }

  return async function routeProjectRequest(request: Request, pathname: string): Promise<Response> {
    const match = pathname.match(PROJECT_PATH);
    if (!match) {
      return storageError(404, "not_found", "Use /_projects/<name>/storage/v1/... (name: lowercase letters, digits, - and _)", 404);
    }
    const [, name, rest] = match;
    if (rest.startsWith(PUBLIC_OBJECT_PREFIX)) return await project(name).servePublicObject(request, rest);
    if (rest.startsWith(STORAGE_API_PREFIX)) return await project(name).handleStorageApi(request, rest);
    return storageError(404, "not_found", "No such route", 404);
  };
}
