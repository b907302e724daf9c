// Lint for the whole workspace (flat config). Formatting is Prettier's (`.prettierrc.json`);
// eslint-config-prettier turns off every rule that would argue with it.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

const packages = ["config", "contracts", "db", "metrics", "nats", "settle", "testkit", "cli"];
const browserGlobals = [
  "window",
  "document",
  "navigator",
  "location",
  "localStorage",
  "sessionStorage",
  "WebSocket",
  "URL",
  "URLSearchParams",
  "fetch",
  "performance",
  "requestAnimationFrame",
  "cancelAnimationFrame",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "queueMicrotask",
  "Intl",
  "HTMLElement",
  "Element",
  "Node",
  "CustomEvent",
  "Event",
  "matchMedia",
  "getComputedStyle",
  "console",
];
const serviceNames = ["ingest", "exporter", "live", "simulator", "feeds-http"];

/** A service never imports another service; packages never import services. */
const boundary = (own) => ({
  "no-restricted-imports": [
    "error",
    {
      patterns: [
        {
          group: serviceNames.filter((s) => s !== own).flatMap((s) => [`@pulse/${s}`, `@pulse/${s}/*`]),
          message: "A service never imports another service (nor a package a service): wire them in scripts/start.ts or test/.",
        },
        {
          group: ["../../services/*", "../../../services/*", "../../packages/*/src/*", "../../../packages/*/src/*"],
          message: "Import a workspace package by its name (@pulse/…), never by a path into another package.",
        },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ["**/node_modules/**", ".data/**", "**/dist/**", "services/live/wall/vendor/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
      "no-empty": ["error", { allowEmptyCatch: true }],
      // Feed strings are checked for control characters on purpose (jsonb refuses \u0000).
      "no-control-regex": "off",
    },
  },
  ...packages.map((p) => ({ files: [`packages/${p}/**/*.ts`], rules: boundary(null) })),
  ...serviceNames.map((s) => ({ files: [`services/${s}/**/*.ts`], rules: boundary(s) })),
  { files: ["seeds/**/*.ts"], rules: boundary(null) },
  {
    files: ["**/*.js", "**/*.mjs"],
    rules: { "no-empty": ["error", { allowEmptyCatch: true }] },
    languageOptions: { globals: { console: "readonly", process: "readonly", setTimeout: "readonly", clearTimeout: "readonly" } },
  },
  {
    // The wall screen's plain ES modules run in the browser.
    files: ["services/live/wall/**/*.js"],
    languageOptions: { globals: Object.fromEntries(browserGlobals.map((g) => [g, "readonly"])) },
  },
  prettier,
);
