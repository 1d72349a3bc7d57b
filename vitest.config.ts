import { defineConfig } from "vitest/config";

// Tiers, each a project (`vitest run --project <name>`); `npm test` runs them all.
// unit: pure code, no child processes, no sockets, no stack: `npm run test:unit`, seconds.
// tools: needs Deno, Chromium, FFmpeg or the HTTP fakes on 127.0.0.1, but no stack.
// integration, chaos: against the real local stack (`npm run stack:start`).
const stack = {
  // These files share one stack (and chaos kills its workers): run them one at a time, and
  // chaos only after integration (projects with different groupOrder never overlap).
  fileParallelism: false,
  testTimeout: 90_000,
  hookTimeout: 120_000,
  globalSetup: ["tests/support/global-setup.ts"],
};

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["tests/unit/**/*.test.ts"] } },
      { test: { name: "tools", include: ["tests/tools/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          ...stack,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: { name: "chaos", include: ["tests/chaos/**/*.test.ts"], ...stack, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
