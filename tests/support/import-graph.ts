/**
 * The repo's relative-import graph and the checks of tests/support/layering-rules.ts over it.
 * Pure over a graph (file → imported files, repo-relative paths) so the checks themselves are
 * unit-tested on small made-up graphs; readImportGraph builds the real one from disk.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { CAPABILITIES, capabilityOf, layerOf, LAYERS } from "./layering-rules.ts";

export type ImportGraph = Map<string, string[]>;

// `import ... from "x"` / `export ... from "x"` (also multi-line), `import "x"`, `import("x")`.
const STATIC_FROM = /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm;
const SIDE_EFFECT = /^\s*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The relative specifiers a TypeScript source imports or re-exports. */
export function relativeSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const pattern of [STATIC_FROM, SIDE_EFFECT, DYNAMIC]) {
    for (const match of source.matchAll(pattern)) {
      // Skip prose: a doc or line comment that quotes an import.
      const line = source.slice(source.lastIndexOf("\n", match.index) + 1, match.index).trimStart();
      if (/^(\/\/|\/\*|\*)/.test(line)) continue;
      if (match[1].startsWith(".")) found.push(match[1]);
    }
  }
  return [...new Set(found)];
}

function tsFiles(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : tsFiles(root, path);
    }
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every .ts file under `roots` (relative to `repoRoot`) with the repo-relative files it imports. */
export function readImportGraph(repoRoot: string, roots: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of roots.flatMap((root) => tsFiles(repoRoot, root)).sort()) {
    const source = readFileSync(join(repoRoot, file), "utf8");
    const targets = relativeSpecifiers(source).map((spec) =>
      relative(repoRoot, normalize(join(repoRoot, dirname(file), spec)))
    );
    graph.set(file, targets);
  }
  return graph;
}

/** Imports of files that do not exist (a typo or a stale path would hide an edge from the checks). */
export function unresolvedImports(repoRoot: string, graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (!existsSync(join(repoRoot, target))) out.push(`${file} → ${target} (no such file)`);
    }
  }
  return out;
}

/** Each import cycle once, as its files in import order (Tarjan's strongly connected components). */
export function importCycles(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  // Name one concrete cycle per component: a shortest path back to its first file.
  return components.map((component) => {
    const members = new Set(component);
    const start = [...component].sort()[0];
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const node = queue.shift()!;
      for (const to of graph.get(node) ?? []) {
        if (to === start) {
          const path = [node];
          while (path[0] !== start) path.unshift(previous.get(path[0])!);
          return [...path, start];
        }
        if (members.has(to) && !previous.has(to) && to !== start) {
          previous.set(to, node);
          queue.push(to);
        }
      }
    }
    return [...component, component[0]];
  });
}

/** Imports from a lower layer up to a higher one (platform → capability, shared/ → an entrypoint). */
export function upwardImports(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const from = layerOf(file);
      const to = layerOf(target);
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) out.push(`${file} (${from}) → ${target} (${to})`);
    }
  }
  return out;
}

/** A capability's imports of another capability's modules that are not on its public list. */
export function privateCapabilityImports(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const from = capabilityOf(file);
    for (const target of targets) {
      const to = capabilityOf(target);
      if (!from || !to || from === to) continue;
      const module = target.slice(`shared/${to}/`.length);
      if (!CAPABILITIES[to].publicModules.includes(module)) {
        out.push(`${file} → ${target} (not public in ${to})`);
      }
    }
  }
  return out;
}

/** Cycles between capabilities (film → assets → film): their uses of each other must point one way. */
export function capabilityCycles(graph: ImportGraph): string[][] {
  const folders: ImportGraph = new Map();
  for (const [file, targets] of graph) {
    const from = capabilityOf(file);
    if (!from) continue;
    const edges = folders.get(from) ?? [];
    for (const target of targets) {
      const to = capabilityOf(target);
      if (to && to !== from && !edges.includes(to)) edges.push(to);
    }
    folders.set(from, edges);
  }
  return importCycles(folders);
}
