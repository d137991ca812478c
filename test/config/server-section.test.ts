import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { readEnvironment, withServerSection } from "../../src/env.ts";

async function listenAddress(source: NodeJS.ProcessEnv, yaml: string) {
  const env = readEnvironment(source);
  if (!env.ok) throw new Error(env.errors.join("; "));
  const loaded = parseConfig(yaml, source, "pitwall.yaml");
  if (!loaded.ok) throw new Error("config refused");
  const effective = withServerSection(env.env, source, loaded.config.server);
  return { port: effective.PORT, host: effective.HOST };
}

describe("where pitwall listens", () => {
  it("uses the config's server section when PORT and HOST are unset", async () => {
    expect(await listenAddress({}, "server:\n  port: 9000\n  host: 0.0.0.0\n")).toEqual({
      port: 9000,
      host: "0.0.0.0",
    });
  });

  it("lets PORT and HOST win over the config, each on its own", async () => {
    const yaml = "server:\n  port: 9000\n  host: 0.0.0.0\n";
    expect(await listenAddress({ PORT: "7000" }, yaml)).toEqual({ port: 7000, host: "0.0.0.0" });
    expect(await listenAddress({ HOST: "::1" }, yaml)).toEqual({ port: 9000, host: "::1" });
    expect(await listenAddress({ PORT: "", HOST: "" }, yaml)).toEqual({ port: 9000, host: "0.0.0.0" });
  });

  it("defaults to 8080 on 127.0.0.1 with neither", async () => {
    expect(await listenAddress({}, "")).toEqual({ port: 8080, host: "127.0.0.1" });
  });
});
