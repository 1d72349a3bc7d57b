/**
 * Strict structured outputs reject a schema whose objects leave a property optional or allow extra
 * properties; checking before the call turns a paid 400 into a clear ProviderInputError.
 */
type Node = Record<string, unknown>;

/** OpenAI's documented nesting limit for strict schemas. */
const MAX_DEPTH = 10;

export function assertStrictJsonSchema(schema: Node, error: (message: string) => Error): void {
  const visit = (node: unknown, path: string, depth: number): void => {
    if (!node || typeof node !== "object") return;
    const current = node as Node;
    if (depth > MAX_DEPTH) throw error(`${path} nests deeper than ${MAX_DEPTH} levels`);
    const isObject = current.type === "object" ||
      (Array.isArray(current.type) && current.type.includes("object"));
    if (isObject) {
      const properties = (current.properties ?? {}) as Node;
      if (current.additionalProperties !== false) throw error(`${path} must set additionalProperties: false`);
      const required = new Set(Array.isArray(current.required) ? current.required : []);
      const optional = Object.keys(properties).filter((name) => !required.has(name));
      if (optional.length > 0) {
        throw error(`${path} must list every property as required (missing: ${optional.join(", ")})`);
      }
      for (const [name, child] of Object.entries(properties)) visit(child, `${path}.${name}`, depth + 1);
    }
    if (current.items) visit(current.items, `${path}[]`, depth + 1);
    for (const key of ["anyOf", "$defs", "definitions"] as const) {
      const children = current[key];
      if (Array.isArray(children)) {
        children.forEach((child, i) => visit(child, `${path}.${key}[${i}]`, depth + 1));
      } else if (children && typeof children === "object") {
        for (const [name, child] of Object.entries(children)) {
          visit(child, `${path}.${key}.${name}`, depth);
        }
      }
    }
  };
  if (schema.type !== "object") throw error("the root must be an object schema");
  visit(schema, "$", 1);
}
