#!/usr/bin/env node
// The `pulse` bin: runs the TypeScript sources in this process through tsx's loader (no build
// step, as every Pulse part; no second process to leave behind).
import { pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

register();
await import(pathToFileURL(`${import.meta.dirname}/../src/main.ts`).href);
