import { describe, expect, it } from "vitest";
import {
  checkMatcherRegex,
  formatMatchers,
  type Matcher,
  matchesAll,
  parseMatchers,
  parseSilenceMatchers,
} from "../../../src/guards/alerts/matchers.ts";

function ok(text: string): Matcher[] {
  const parsed = parseMatchers(text);
  if (!parsed.ok) throw new Error(`expected ${text} to parse: ${parsed.error}`);
  return parsed.matchers;
}

function error(text: string): string {
  const parsed = parseMatchers(text);
  if (parsed.ok) throw new Error(`expected ${text} to fail`);
  return parsed.error;
}

describe("parseMatchers", () => {
  it("reads the four operators", () => {
    expect(ok('alertname="HighLatency"')).toEqual([{ name: "alertname", op: "=", value: "HighLatency" }]);
    expect(ok('env=~"prod|stage"')).toEqual([{ name: "env", op: "=~", value: "prod|stage" }]);
    expect(ok('severity!="info"')).toEqual([{ name: "severity", op: "!=", value: "info" }]);
    expect(ok('job!~"test.*"')).toEqual([{ name: "job", op: "!~", value: "test.*" }]);
  });

  it("reads comma-separated lists with or without braces, spaces and a trailing comma", () => {
    const expected = [
      { name: "a", op: "=", value: "b" },
      { name: "c", op: "=~", value: "d.*" },
    ];
    expect(ok('{a="b", c=~"d.*"}')).toEqual(expected);
    expect(ok('a="b",c=~"d.*"')).toEqual(expected);
    expect(ok(' { a = "b" ,  c =~ "d.*" , } ')).toEqual(expected);
  });

  it("accepts unquoted values, single quotes and a phone's curly quotes", () => {
    expect(ok("env=prod")).toEqual([{ name: "env", op: "=", value: "prod" }]);
    expect(ok("env=prod,job=~api.*")).toEqual([
      { name: "env", op: "=", value: "prod" },
      { name: "job", op: "=~", value: "api.*" },
    ]);
    expect(ok("env='prod'")).toEqual([{ name: "env", op: "=", value: "prod" }]);
    expect(ok("alertname=“HighLatency”")).toEqual([{ name: "alertname", op: "=", value: "HighLatency" }]);
    expect(ok("env=")).toEqual([{ name: "env", op: "=", value: "" }]);
    expect(ok('env=""')).toEqual([{ name: "env", op: "=", value: "" }]);
  });

  it("reads escapes in quotes and keeps regex escapes", () => {
    expect(ok('msg="say \\"hi\\""')[0]?.value).toBe('say "hi"');
    expect(ok('path="C:\\\\tmp"')[0]?.value).toBe("C:\\tmp");
    expect(ok('instance=~"api-\\d+\\.example"')[0]?.value).toBe("api-\\d+\\.example");
    expect(ok('text="a, b } c"')[0]?.value).toBe("a, b } c");
    expect(ok('word=~"\\bapi\\b.*"')[0]?.value).toBe("\\bapi\\b.*");
    expect(ok('ctl="a\\u0001b\\r"')[0]?.value).toBe("a\u0001b\r");
  });

  it("explains what is wrong", () => {
    expect(error("")).toBe('expected label matcher like alertname="HighLatency"');
    expect(error("{}")).toBe('expected label matcher like alertname="HighLatency"');
    expect(error("HighLatency")).toBe("expected =, !=, =~ or !~ after HighLatency, got the end");
    expect(error('="x"')).toBe('expected label matcher like alertname="HighLatency", got "=\\"x\\""');
    expect(error('1abc="x"')).toMatch(/^expected label matcher like alertname="HighLatency", got/);
    expect(error('env=="prod"')).toMatch(/expected "," between matchers/);
    expect(error('env<"prod"')).toBe('expected =, !=, =~ or !~ after env, got "<\\"prod\\""');
    expect(error('env="prod')).toBe('unterminated quoted value for env: add the closing "');
    expect(error('a="b" c="d"')).toBe('expected "," between matchers, got "c=\\"d\\""');
    expect(error('{a="b"')).toBe('missing closing "}"');
    expect(error('a="b"}')).toBe('missing opening "{"');
    expect(error('a="b",,')).toMatch(/^expected label matcher/);
  });

  it("refuses invalid and over-long regexes", () => {
    expect(error('env=~"(prod"')).toMatch(/^env=~: invalid regular expression "\(prod"/);
    expect(error('env=~"a)|(b"')).toMatch(/invalid regular expression/);
    expect(error(`env=~"${"a".repeat(257)}"`)).toBe(
      "env=~: regular expression is longer than 256 characters; shorten it",
    );
    expect(ok(`env=~"${"a".repeat(256)}"`)).toHaveLength(1);
  });

  it("refuses the regex shapes behind catastrophic backtracking", () => {
    for (const pattern of ["(a+)+", "(a*)*b", "(.*a){10}", "((ab)+)*", "(a|aa)+", "(x+x+)+y", "(?:a+)+"]) {
      expect(checkMatcherRegex(pattern), pattern).toMatch(/can take very long to match/);
    }
    for (const pattern of [
      ".*",
      "prod|stage",
      "api-[0-9]+",
      "(prod|stage)-.*",
      "(a+)?",
      "[(+]+",
      "\\(a+\\)+",
      "(?i)prod",
    ]) {
      expect(checkMatcherRegex(pattern), pattern).toBeNull();
    }
  });

  it("limits the number of matchers and the length of values", () => {
    const many = Array.from({ length: 33 }, (_, i) => `l${i}="v"`).join(",");
    expect(error(many)).toBe("at most 32 matchers in one silence");
    expect(error(`env="${"x".repeat(1025)}"`)).toBe("the value for env is longer than 1024 characters");
  });

  it("round-trips through formatMatchers", () => {
    const text =
      '{alertname="High \\"Latency\\"", env=~"prod|stage", path!~"C:\\\\tmp.*", x!="", y="\\u0001\\n"}';
    const matchers = ok(text);
    expect(formatMatchers(matchers)).toBe(text);
    expect(ok(formatMatchers(matchers))).toEqual(matchers);
  });
});

describe("matchesAll", () => {
  const labels = { alertname: "HighLatency", env: "prod", instance: "api-1:9100" };

  it("matches equality and inequality, a missing label reading as empty", () => {
    expect(matchesAll(labels, ok('alertname="HighLatency"'))).toBe(true);
    expect(matchesAll(labels, ok('alertname="highlatency"'))).toBe(false);
    expect(matchesAll(labels, ok('env!="stage"'))).toBe(true);
    expect(matchesAll(labels, ok('team!="db"'))).toBe(true);
    expect(matchesAll(labels, ok('team=""'))).toBe(true);
    expect(matchesAll(labels, ok('team="db"'))).toBe(false);
  });

  it("anchors regexes like Alertmanager", () => {
    expect(matchesAll(labels, ok('env=~"prod|stage"'))).toBe(true);
    expect(matchesAll(labels, ok('env=~"pro"'))).toBe(false);
    expect(matchesAll(labels, ok('env=~"rod"'))).toBe(false);
    expect(matchesAll(labels, ok('instance=~"api-\\d+:9100"'))).toBe(true);
    expect(matchesAll(labels, ok('env!~"prod|stage"'))).toBe(false);
    expect(matchesAll(labels, ok('env!~"stage"'))).toBe(true);
    expect(matchesAll(labels, ok('team=~".*"'))).toBe(true);
    expect(matchesAll(labels, ok('team=~".+"'))).toBe(false);
    expect(matchesAll(labels, ok('env=~"(?i)PROD"'))).toBe(true);
  });

  it("requires every matcher", () => {
    expect(matchesAll(labels, ok('alertname="HighLatency", env="prod"'))).toBe(true);
    expect(matchesAll(labels, ok('alertname="HighLatency", env="stage"'))).toBe(false);
  });

  it("treats a stored matcher whose regex cannot compile as matching nothing", () => {
    expect(matchesAll(labels, [{ name: "env", op: "=~", value: "(" }])).toBe(false);
    expect(matchesAll(labels, [{ name: "env", op: "!~", value: "(" }])).toBe(false);
  });

  it("matches a 1024-character value against a greedy pattern without stalling", () => {
    const long = { msg: `${"a".repeat(1024)}!` };
    const started = performance.now();
    expect(matchesAll(long, ok('msg=~".*a.*b"'))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("parseSilenceMatchers", () => {
  it("refuses matchers that would also match alerts lacking those labels", () => {
    for (const text of ['env!="prod"', 'env=~".*"', 'team=""', 'env!~"prod", x=~".*"']) {
      const parsed = parseSilenceMatchers(text);
      expect(parsed.ok, text).toBe(false);
      expect(!parsed.ok && parsed.error).toMatch(/silence almost everything; add one like alertname=/);
    }
  });

  it("accepts a silence with one selective matcher", () => {
    expect(parseSilenceMatchers('alertname="X", env!="prod"').ok).toBe(true);
    expect(parseSilenceMatchers('env=~"prod|stage"').ok).toBe(true);
  });

  it("passes parse errors through", () => {
    expect(parseSilenceMatchers('env="prod')).toEqual({
      ok: false,
      error: 'unterminated quoted value for env: add the closing "',
    });
  });
});
