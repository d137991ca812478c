import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  type AlertInputBody,
  alertInputSchema,
  alertsBodySchema,
  MAX_TEXT_BYTES,
  utf8Length,
} from "../../../src/guards/alerts/input.ts";
import type { AlertInput } from "../../../src/guards/alerts/types.ts";

interface Problem {
  path: string;
  message: string;
}

function problems(schema: z.ZodType, body: unknown): Problem[] {
  const result = schema.safeParse(body);
  if (result.success) throw new Error(`expected ${JSON.stringify(body).slice(0, 80)} to be refused`);
  return result.error.issues.map((issue) => ({
    path: issue.path
      .map((segment) => (typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`))
      .join(""),
    message: issue.message,
  }));
}

const one = (body: unknown) => problems(alertInputSchema, body);
const parse = (body: unknown) => alertInputSchema.parse(body);
const minimal = { severity: "critical", title: "Database down" };

describe("alertInputSchema", () => {
  it("accepts a minimal alert with defaults", () => {
    expect(parse(minimal)).toEqual({
      key: undefined,
      severity: "critical",
      title: "Database down",
      text: undefined,
      source: undefined,
      labels: {},
      status: "firing",
    });
  });

  it("accepts every field, trimming and normalizing what people type", () => {
    expect(
      parse({
        key: "  db:primary ",
        severity: " Warning",
        title: "  Replication lag  ",
        text: "lag is 42s\nsee dashboard",
        source: " monitor-1 ",
        labels: { env: "prod", _internal: "", instance_id: "db-1" },
        status: "RESOLVED",
      }),
    ).toEqual({
      key: "db:primary",
      severity: "warning",
      title: "Replication lag",
      text: "lag is 42s\nsee dashboard",
      source: "monitor-1",
      labels: { env: "prod", _internal: "", instance_id: "db-1" },
      status: "resolved",
    });
  });

  it("treats null as absent for optional fields", () => {
    expect(
      parse({ ...minimal, key: null, text: null, source: null, labels: null, status: null }),
    ).toMatchObject({
      key: undefined,
      labels: {},
      status: "firing",
    });
  });

  it("names missing required fields", () => {
    expect(one({ title: "x" })).toEqual([
      { path: ".severity", message: "required: one of info, warning, critical" },
    ]);
    expect(one({ severity: "info" })).toEqual([
      { path: ".title", message: "required: a one-line summary of the problem" },
    ]);
    expect(one({})).toHaveLength(2);
  });

  it("refuses an unknown severity or status", () => {
    expect(one({ ...minimal, severity: "high" })).toEqual([
      { path: ".severity", message: 'must be one of info, warning, critical, got "high"' },
    ]);
    expect(one({ ...minimal, severity: 2 })).toEqual([
      { path: ".severity", message: "must be one of info, warning, critical, got a number" },
    ]);
    expect(one({ ...minimal, status: "acknowledged" })).toEqual([
      { path: ".status", message: 'must be firing or resolved, got "acknowledged"' },
    ]);
  });

  it("limits the title and the text", () => {
    expect(parse({ ...minimal, title: "t".repeat(1024) }).title).toHaveLength(1024);
    expect(one({ ...minimal, title: "t".repeat(1025) })).toEqual([
      { path: ".title", message: "must be at most 1024 characters, got 1025; put details in text" },
    ]);
    expect(one({ ...minimal, title: "x".repeat(1024 * 1024) })[0]?.path).toBe(".title");
    expect(one({ ...minimal, title: "   " })).toEqual([{ path: ".title", message: "must not be empty" }]);
    expect(one({ ...minimal, title: ["x"] })).toEqual([
      { path: ".title", message: "must be text, got a list" },
    ]);
    expect(parse({ ...minimal, text: "x".repeat(MAX_TEXT_BYTES) }).text).toHaveLength(MAX_TEXT_BYTES);
    expect(one({ ...minimal, text: "x".repeat(MAX_TEXT_BYTES + 1) })).toEqual([
      { path: ".text", message: "must be at most 16 KB" },
    ]);
    // 16 KB counts bytes: 6 000 three-byte characters are 18 000 bytes
    expect(one({ ...minimal, text: "✉".repeat(6000) })).toEqual([
      { path: ".text", message: "must be at most 16 KB" },
    ]);
  });

  it("limits the key to 200 printable characters", () => {
    expect(parse({ ...minimal, key: "k".repeat(200) }).key).toHaveLength(200);
    expect(one({ ...minimal, key: "k".repeat(201) })).toEqual([
      { path: ".key", message: "must be at most 200 characters, got 201" },
    ]);
    expect(one({ ...minimal, key: "a\nb" })[0]?.message).toMatch(/printable/);
    expect(one({ ...minimal, key: "a\u0000b" })[0]?.message).toMatch(/printable/);
    expect(one({ ...minimal, key: "" })[0]?.message).toMatch(/must not be empty; leave it out/);
    expect(one({ ...minimal, key: 7 })).toEqual([{ path: ".key", message: "must be text, got a number" }]);
    expect(parse({ ...minimal, key: "ключ/🔑 with spaces" }).key).toBe("ключ/🔑 with spaces");
  });

  it("requires labels to map text to text, naming the label", () => {
    expect(one({ ...minimal, labels: { env: "prod", replicas: 3 } })).toEqual([
      {
        path: ".labels.replicas",
        message: "label values must be text, got a number; quote numbers and booleans",
      },
    ]);
    expect(one({ ...minimal, labels: { nested: { a: "b" } } })[0]).toMatchObject({ path: ".labels.nested" });
    expect(one({ ...minimal, labels: { flag: null } })[0]).toMatchObject({ path: ".labels.flag" });
    expect(one({ ...minimal, labels: ["env=prod"] })).toEqual([
      { path: ".labels", message: 'must be a map of text to text, like {"env": "prod"}, got a list' },
    ]);
    expect(one({ ...minimal, labels: "env=prod" })[0]?.path).toBe(".labels");
  });

  it("checks label names and sizes", () => {
    expect(one({ ...minimal, labels: { "bad-name": "x" } })).toEqual([
      {
        path: ".labels.bad-name",
        message: "label names are letters, digits and _, not starting with a digit (like instance_id)",
      },
    ]);
    expect(one({ ...minimal, labels: { "1st": "x" } })[0]?.path).toBe(".labels.1st");
    expect(one({ ...minimal, labels: { "": "x" } })[0]?.path).toBe(".labels.");
    expect(one({ ...minimal, labels: { [`a${"b".repeat(128)}`]: "x" } })[0]?.message).toBe(
      "label names are at most 128 characters",
    );
    expect(parse({ ...minimal, labels: { [`a${"b".repeat(127)}`]: "v".repeat(1024) } }).labels).toBeDefined();
    expect(one({ ...minimal, labels: { v: "v".repeat(1025) } })[0]?.message).toBe(
      "label values are at most 1024 characters, got 1025",
    );
  });

  it("limits the number of labels, and keeps the answer short for a flood of bad ones", () => {
    const labels = (n: number, value: unknown = "v") =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, value]));
    expect(Object.keys(parse({ ...minimal, labels: labels(64) }).labels)).toHaveLength(64);
    expect(one({ ...minimal, labels: labels(65) })).toEqual([
      { path: ".labels", message: "at most 64 labels, got 65" },
    ]);
    expect(one({ ...minimal, labels: labels(10_000) })).toEqual([
      { path: ".labels", message: "at most 64 labels, got 10000" },
    ]);
    expect(one({ ...minimal, labels: labels(60, 1) })).toHaveLength(5);
  });

  it("refuses unknown fields, naming them (a mistyped field would silently drop data)", () => {
    expect(one({ ...minimal, lables: { env: "prod" } })).toEqual([
      {
        path: "",
        message: 'unknown field "lables"; an alert has key, severity, title, text, source, labels, status',
      },
    ]);
  });

  it("refuses bodies that are not an alert", () => {
    for (const body of ["alert", 42, null, true]) {
      expect(one(body)[0]?.message).toMatch(
        /^expected an alert like \{"severity": "critical", "title": "\.\.\."\}, got/,
      );
    }
  });

  it("produces the AlertInput the pipeline takes", () => {
    const body: AlertInputBody = parse(minimal);
    const input: AlertInput = body;
    expect(input.status).toBe("firing");
  });
});

describe("alertsBodySchema", () => {
  it("reads one alert as a single result", () => {
    expect(alertsBodySchema.parse(minimal)).toEqual({ batch: false, alerts: [parse(minimal)] });
  });

  it("reads an array in order", () => {
    const body = [minimal, { ...minimal, title: "Second", status: "resolved" }];
    const parsed = alertsBodySchema.parse(body);
    expect(parsed.batch).toBe(true);
    expect(parsed.alerts.map((a) => a.title)).toEqual(["Database down", "Second"]);
    expect(alertsBodySchema.parse([])).toEqual({ batch: true, alerts: [] });
  });

  it("names the item and field of every bad alert in a list", () => {
    const body = [minimal, { title: "no severity" }, minimal, { ...minimal, labels: { n: 1 } }];
    expect(problems(alertsBodySchema, body)).toEqual([
      { path: "[1].severity", message: "required: one of info, warning, critical" },
      {
        path: "[3].labels.n",
        message: "label values must be text, got a number; quote numbers and booleans",
      },
    ]);
  });

  it("accepts up to 1000 alerts per request", () => {
    expect(alertsBodySchema.parse(Array.from({ length: 1000 }, () => minimal)).alerts).toHaveLength(1000);
    expect(
      problems(
        alertsBodySchema,
        Array.from({ length: 1001 }, () => minimal),
      ),
    ).toEqual([{ path: "", message: "at most 1000 alerts per request, got 1001; split the list" }]);
  });

  it("keeps field paths for a single alert", () => {
    expect(problems(alertsBodySchema, { severity: "bad", title: "x" })).toEqual([
      { path: ".severity", message: 'must be one of info, warning, critical, got "bad"' },
    ]);
  });
});

describe("utf8Length", () => {
  it("counts UTF-8 bytes like TextEncoder", () => {
    for (const text of ["", "abc", "é", "✉", "🔥", "a🔥é✉", "\ud800", "\udc00x"]) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});

describe("lone surrogates", () => {
  it("are replaced with U+FFFD in every text field, so one bad alert cannot fail a batch", () => {
    const parsed = alertsBodySchema.parse({
      severity: "info",
      title: "cut \ud83d",
      text: "\udd25 tail",
      source: "src\ud83d",
      key: "k\ud83d",
      labels: { host: "h\ud83d" },
    });
    const alert = parsed.alerts[0]!;
    expect([alert.title, alert.text, alert.source, alert.key, alert.labels.host]).toEqual([
      "cut \ufffd",
      "\ufffd tail",
      "src\ufffd",
      "k\ufffd",
      "h\ufffd",
    ]);
  });
});
