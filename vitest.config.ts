import { configDefaults, defineConfig } from "vitest/config";

// Test files run two at a time (2 cores). Each file starts what it needs itself: a fresh
// database cloned per file, fresh stream names, private nats-servers for fault tests.
// The floods run last and one at a time: they measure latency while saturating the machine on
// purpose, and beside another such file they measured each other (a 1.8 s p99 in one CI run).
const floods = ["test/flood-*.test.ts"];
const shared = { pool: "forks" as const, testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "tests",
          include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...floods],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      { test: { ...shared, name: "floods", include: floods, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
