import { defineConfig } from "vitest/config";

// Test files run two at a time (2 cores). Each file starts what it needs itself: a fresh
// database cloned per file, fresh stream names, private nats-servers for fault tests.
export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
