#!/usr/bin/env -S node --max-semi-space-size=8
// pitwall runs its TypeScript sources directly through tsx (a runtime dependency), so there is
// no build step between `npm ci` and `npm start`.
import { setFlagsFromString } from "node:v8";

// V8 grows the young generation to 16 MB per semi-space during startup and keeps it while idle;
// 8 MB keeps an idle pitwall's RSS about 40 MB lower. 2 MB saved no more memory and cost the
// alert ingest about 15% of its throughput in garbage collection (bench/ingest, bench/memory).
// An explicit NODE_OPTIONS setting wins.
if (!process.env.NODE_OPTIONS?.includes("semi-space")) setFlagsFromString("--max-semi-space-size=8");

const { register } = await import("tsx/esm/api");
register();
await import("../src/cli/index.ts");
