#!/usr/bin/env -S node --max-semi-space-size=4
// pitwall runs its TypeScript sources directly through tsx (a runtime dependency), so there is
// no build step between `npm ci` and `npm start`.
import { setFlagsFromString } from "node:v8";

// V8 grows the young generation to 16 MB per semi-space during startup and keeps it while idle;
// 4 MB keeps an idle pitwall's RSS about 35 MB lower (bench/memory: 146 MB; 8 MB: 150-172 MB).
// 2 MB saved 3 MB more and cost the alert ingest about 15% of its throughput in garbage
// collection (bench/ingest).
// An explicit NODE_OPTIONS setting wins.
if (!process.env.NODE_OPTIONS?.includes("semi-space")) setFlagsFromString("--max-semi-space-size=4");

const { register } = await import("tsx/esm/api");
register();
await import("../src/cli/index.ts");
