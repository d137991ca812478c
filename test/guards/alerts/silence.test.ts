import { describe, expect, it } from "vitest";
import {
  checkSilenceWindow,
  isSilenceActive,
  isSilenced,
  type Matcher,
  matchingSilence,
  parseMatchers,
  parseSilenceTarget,
  type Silence,
} from "../../../src/guards/alerts/silence.ts";

const t0 = new Date("2024-03-10T12:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);
const HOUR = 3_600_000;

function matchers(text: string): Matcher[] {
  const parsed = parseMatchers(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.matchers;
}

const alert = {
  key: "ead1e691b49e9e28",
  labels: { alertname: "HighLatency", env: "prod", instance: "api-1" },
};

describe("isSilenceActive", () => {
  it("is active from startsAt until endsAt, the end excluded", () => {
    const silence: Silence = { id: "s1", key: alert.key, startsAt: at(HOUR), endsAt: at(2 * HOUR) };
    expect(isSilenceActive(silence, at(HOUR - 1))).toBe(false);
    expect(isSilenceActive(silence, at(HOUR))).toBe(true);
    expect(isSilenceActive(silence, at(2 * HOUR - 1))).toBe(true);
    expect(isSilenceActive(silence, at(2 * HOUR))).toBe(false);
  });

  it("starts at once without startsAt", () => {
    expect(isSilenceActive({ id: "s", key: "k", endsAt: at(1) }, at(-10 * HOUR))).toBe(true);
    expect(isSilenceActive({ id: "s", key: "k", startsAt: null, endsAt: at(1) }, at(0))).toBe(true);
  });
});

describe("isSilenced", () => {
  it("silences by key", () => {
    const silences: Silence[] = [{ id: "by-key", key: alert.key, endsAt: at(HOUR) }];
    expect(isSilenced(alert, silences, t0)).toBe("by-key");
    expect(isSilenced({ ...alert, key: "other" }, silences, t0)).toBeNull();
  });

  it("silences by label matchers", () => {
    const silences: Silence[] = [
      { id: "by-labels", matchers: matchers('alertname="HighLatency", env=~"prod|stage"'), endsAt: at(HOUR) },
    ];
    expect(isSilenced(alert, silences, t0)).toBe("by-labels");
    expect(isSilenced({ ...alert, labels: { ...alert.labels, env: "dev" } }, silences, t0)).toBeNull();
    expect(isSilenced({ key: "x", labels: {} }, silences, t0)).toBeNull();
  });

  it("requires both key and matchers when a silence has both", () => {
    const both: Silence[] = [
      { id: "both", key: alert.key, matchers: matchers('env="stage"'), endsAt: at(HOUR) },
    ];
    expect(isSilenced(alert, both, t0)).toBeNull();
    expect(isSilenced({ ...alert, labels: { env: "stage" } }, both, t0)).toBe("both");
  });

  it("never matches with a silence that names neither key nor matchers", () => {
    expect(isSilenced(alert, [{ id: "empty", endsAt: at(HOUR) }], t0)).toBeNull();
    expect(isSilenced(alert, [{ id: "empty", key: null, matchers: [], endsAt: at(HOUR) }], t0)).toBeNull();
  });

  it("ignores expired and future silences", () => {
    const silences: Silence[] = [
      { id: "expired", key: alert.key, endsAt: t0 },
      { id: "future", key: alert.key, startsAt: at(1), endsAt: at(HOUR) },
    ];
    expect(isSilenced(alert, silences, t0)).toBeNull();
    expect(isSilenced(alert, silences, at(1))).toBe("future");
  });

  it("names the covering silence that ends last", () => {
    const silences: Silence[] = [
      { id: "1h", key: alert.key, endsAt: at(HOUR) },
      { id: "24h", matchers: matchers('alertname="HighLatency"'), endsAt: at(24 * HOUR) },
      { id: "4h", matchers: matchers('env="prod"'), endsAt: at(4 * HOUR) },
      { id: "48h-other", key: "other", endsAt: at(48 * HOUR) },
    ];
    expect(isSilenced(alert, silences, t0)).toBe("24h");
    expect(matchingSilence(alert, silences, t0)?.endsAt).toEqual(at(24 * HOUR));
    expect(isSilenced(alert, silences, at(24 * HOUR))).toBeNull();
  });
});

describe("parseSilenceTarget", () => {
  it("reads matchers when the text starts like one", () => {
    expect(parseSilenceTarget('alertname="HighLatency"')).toEqual({
      ok: true,
      kind: "matchers",
      matchers: [{ name: "alertname", op: "=", value: "HighLatency" }],
    });
    expect(parseSilenceTarget("{env=~'prod|stage', job!=api}")).toMatchObject({ ok: true, kind: "matchers" });
    expect(parseSilenceTarget("env = prod")).toMatchObject({ ok: true, kind: "matchers" });
  });

  it("reads anything else as an incident key", () => {
    expect(parseSilenceTarget(" ead1e691b49e9e28 ")).toEqual({
      ok: true,
      kind: "key",
      key: "ead1e691b49e9e28",
    });
    expect(parseSilenceTarget("budget:coder:openai")).toEqual({
      ok: true,
      kind: "key",
      key: "budget:coder:openai",
    });
  });

  it("explains bad input", () => {
    expect(parseSilenceTarget("  ")).toMatchObject({ ok: false });
    expect(parseSilenceTarget('env="prod')).toEqual({
      ok: false,
      error: 'unterminated quoted value for env: add the closing "',
    });
    expect(parseSilenceTarget('env!="prod"')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/almost everything/),
    });
  });
});

describe("checkSilenceWindow", () => {
  it("requires an end in the future and after the start", () => {
    expect(checkSilenceWindow(null, at(HOUR), t0)).toBeNull();
    expect(checkSilenceWindow(at(HOUR), at(2 * HOUR), t0)).toBeNull();
    expect(checkSilenceWindow(null, t0, t0)).toMatch(/in the past/);
    expect(checkSilenceWindow(at(2 * HOUR), at(HOUR), t0)).toMatch(/end before it starts/);
    expect(checkSilenceWindow(null, new Date(Number.NaN), t0)).toMatch(/not a valid time/);
  });
});
