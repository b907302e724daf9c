/**
 * `pnpm build:feeds-http`: the door as one JavaScript file, `services/feeds-http/dist/main.mjs`,
 * run by plain `node` (`pnpm feeds-http`). Compiling TypeScript in the door's own process (tsx)
 * costs some 60 MB of RSS at rest, a fifth of its memory budget under 50 concurrent uploads
 * (bench/README.md). The workspace packages are bundled from source; the seeds directory stays
 * where it is (the bundle names it, unless PULSE_SEEDS_DIR does).
 */
import { build } from "esbuild";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
await build({
  entryPoints: [resolve(root, "services/feeds-http/src/main.ts")],
  outfile: resolve(root, "services/feeds-http/dist/main.mjs"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // pg's optional native binding: required inside a try, absent here.
  external: ["pg-native"],
  sourcemap: "linked",
  logLevel: "warning",
  banner: {
    js: [
      // Bundled CommonJS libraries call require(); seeds/src/load-seeds.ts finds its data next to
      // its own file, which in a bundle is this one.
      `import { createRequire as __pulseRequire } from "node:module";`,
      `import { fileURLToPath as __pulsePath } from "node:url";`,
      `const require = __pulseRequire(import.meta.url);`,
      `process.env.PULSE_SEEDS_DIR ??= __pulsePath(new URL("../../../seeds/data", import.meta.url));`,
    ].join("\n"),
  },
});
