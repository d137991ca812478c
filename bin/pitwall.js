#!/usr/bin/env node
// pitwall runs its TypeScript sources directly through tsx (a runtime dependency), so there is
// no build step between `npm ci` and `npm start`.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/index.ts");
