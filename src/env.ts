import { resolve } from "node:path";
import { z } from "zod";

/**
 * The environment pitwall reads (DESIGN.md "Running"). Read once, in main; every other module
 * gets values as arguments. Values that are present but wrong are errors, never ignored.
 */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const envSchema = z.object({
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d{5,16}:[A-Za-z0-9_-]{20,}$/, "does not look like a bot token from @BotFather (digits:letters)")
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL")
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL")
    .optional(),
  PITWALL_CONFIG: z.string().optional(),
  PORT: z.coerce
    .number({ error: "expected a port number" })
    .int("expected a port number")
    .min(0, "expected a port number 0-65535")
    .max(65535, "expected a port number 0-65535")
    .default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  PITWALL_DATA_DIR: z.string().min(1).default("./.pitwall"),
  PITWALL_API_KEYS: z.string().optional(),
  TELEGRAM_API_ROOT: z.url({ error: "expected a URL like http://127.0.0.1:8081" }).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  /** `npm start -- --demo` for those who prefer the environment (console mode only). */
  PITWALL_DEMO: z
    .enum(["1", "0", "true", "false"], { error: "expected 1 or 0 (true or false)" })
    .transform((value) => value === "1" || value === "true")
    .default(false),
});

export type Environment = z.infer<typeof envSchema> & { dataDir: string };

export type EnvResult = { ok: true; env: Environment } | { ok: false; errors: string[] };

/**
 * The listen address: PORT and HOST from the environment win; where they are unset, the config's
 * `server` section (pitwall.example.yaml); else 8080 and 127.0.0.1.
 */
export function withServerSection(
  env: Environment,
  source: NodeJS.ProcessEnv,
  server: { port?: number | undefined; host?: string | undefined },
): Environment {
  const unset = (name: string) => source[name] === undefined || source[name] === "";
  return {
    ...env,
    PORT: unset("PORT") && server.port !== undefined ? server.port : env.PORT,
    HOST: unset("HOST") && server.host !== undefined ? server.host : env.HOST,
  };
}

/** Empty strings count as unset (a common shell mistake: `export REDIS_URL=`). */
export function readEnvironment(source: NodeJS.ProcessEnv): EnvResult {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    // Messages name the variable and the rule, never the value: tokens and URLs hold secrets.
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    };
  }
  return { ok: true, env: { ...parsed.data, dataDir: resolve(parsed.data.PITWALL_DATA_DIR) } };
}
