import { describe, expect, it } from "vitest";
import {
  alertKey,
  alertmanagerFingerprint,
  GROUP_BY_ALL,
  groupId,
  groupKey,
  MAX_KEY_LENGTH,
} from "../../../src/guards/alerts/fingerprint.ts";
import { compareCodePoints, Fnv1a64, toBase62 } from "../../../src/guards/alerts/hash.ts";

/** uint64 written in decimal (as Prometheus' tests do) -> Alertmanager's `%016x`. */
const hex = (decimal: string) => BigInt(decimal).toString(16).padStart(16, "0");

describe("FNV-1a 64", () => {
  it("matches the published test vectors", () => {
    expect(new Fnv1a64().hex()).toBe("cbf29ce484222325");
    expect(new Fnv1a64().addString("a").hex()).toBe("af63dc4c8601ec8c");
    expect(new Fnv1a64().addString("foobar").hex()).toBe("85944171f73967e8");
  });

  it("hashes strings as UTF-8 (a lone surrogate as U+FFFD)", () => {
    const bytes = (text: string) => {
      const hash = new Fnv1a64();
      for (const byte of new TextEncoder().encode(text)) hash.addByte(byte);
      return hash.hex();
    };
    for (const text of ["é", "✉", "émails-✉", "🚨 fire", "\ud800x", "x\udc00"]) {
      expect(new Fnv1a64().addString(text).hex()).toBe(bytes(text));
    }
  });

  it("sorts by code point (UTF-8 byte order), like Go", () => {
    expect(["\uffff", "\u{1f6a8}", "a"].sort(compareCodePoints)).toEqual(["a", "\uffff", "\u{1f6a8}"]);
    expect(["ab", "a", "b"].sort(compareCodePoints)).toEqual(["a", "ab", "b"]);
  });

  it("writes fixed-width base62", () => {
    expect(toBase62(0n, 4)).toBe("0000");
    expect(toBase62(61n, 2)).toBe("0z");
    expect(toBase62(62n, 2)).toBe("10");
  });
});

describe("alertmanagerFingerprint", () => {
  it("equals Prometheus' own test vectors (prometheus/common model/signature_test.go)", () => {
    expect(alertmanagerFingerprint({})).toBe(hex("14695981039346656037"));
    expect(alertmanagerFingerprint({ name: "garland, briggs", fear: "love is not enough" })).toBe(
      hex("5799056148416392346"),
    );
    expect(alertmanagerFingerprint({ "first-label": "first-label-value" })).toBe(hex("5146282821936882169"));
    expect(
      alertmanagerFingerprint({
        "first-label": "first-label-value",
        "second-label": "second-label-value",
        "third-label": "third-label-value",
      }),
    ).toBe(hex("13843036195897128121"));
  });

  it("ignores label order", () => {
    expect(alertmanagerFingerprint({ b: "2", a: "1" })).toBe(alertmanagerFingerprint({ a: "1", b: "2" }));
  });
});

describe("alertKey", () => {
  const base = { title: "Budget 80% used", labels: { agent: "coder", provider: "openai" } };

  it("uses the sender's key when given", () => {
    expect(alertKey({ ...base, key: "budget:coder:openai" })).toBe("budget:coder:openai");
  });

  it("derives a stable 16-hex key from source, title and labels (pinned: stored rows refer to it)", () => {
    expect(alertKey(base)).toBe("2a8842484dbd657a");
    expect(alertKey({ title: "Budget 80% used", source: "coder-bot" })).toBe("7c7150db28013804");
    expect(alertKey(base)).toMatch(/^[0-9a-f]{16}$/);
    expect(alertKey(base).length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
  });

  it("dedups two posts with the same title and labels, in any label order", () => {
    const reordered = { title: "Budget 80% used", labels: { provider: "openai", agent: "coder" } };
    expect(alertKey(reordered)).toBe(alertKey(base));
    expect(alertKey({ ...base, key: "" })).toBe(alertKey(base));
    expect(alertKey({ ...base, labels: { ...base.labels } })).toBe(alertKey(base));
  });

  it("tells apart different titles, labels and sources", () => {
    const keys = new Set([
      alertKey(base),
      alertKey({ ...base, title: "Budget 95% used" }),
      alertKey({ ...base, labels: { agent: "reader", provider: "openai" } }),
      alertKey({ ...base, labels: { agent: "coder" } }),
      alertKey({ ...base, source: "coder-bot" }),
      alertKey({ title: "Budget 80% used" }),
    ]);
    expect(keys.size).toBe(6);
  });

  it("cannot be fooled by moving text between fields (fields are separated)", () => {
    expect(alertKey({ title: "ab", source: "" })).not.toBe(alertKey({ title: "b", source: "a" }));
    expect(alertKey({ title: "t", labels: { a: "bc" } })).not.toBe(
      alertKey({ title: "t", labels: { ab: "c" } }),
    );
  });

  it("differs from the Alertmanager fingerprint of the same labels", () => {
    expect(alertKey({ title: "", labels: { a: "1" } })).not.toBe(alertmanagerFingerprint({ a: "1" }));
  });
});

describe("groupKey", () => {
  it("keys a group by its group_by labels, sorted, values quoted", () => {
    expect(groupKey({ alertname: "HighLatency", instance: "api-1" }, ["alertname"])).toBe(
      'alertname="HighLatency"',
    );
    expect(groupKey({ env: "prod", alertname: "X", job: "api" }, ["env", "alertname"])).toBe(
      'alertname="X",env="prod"',
    );
    expect(groupKey({ alertname: 'say "hi" \\ <b>' }, ["alertname"])).toBe(
      'alertname="say \\"hi\\" \\\\ <b>"',
    );
  });

  it("does not group alerts without any group_by label", () => {
    expect(groupKey({}, ["alertname"])).toBeNull();
    expect(groupKey({ instance: "api-1" }, ["alertname"])).toBeNull();
    expect(groupKey({ alertname: "" }, ["alertname"])).toBeNull();
    expect(groupKey({ alertname: "X" }, [])).toBeNull();
  });

  it("groups an alert having some of the group_by labels by those it has", () => {
    expect(groupKey({ alertname: "X" }, ["alertname", "cluster"])).toBe('alertname="X"');
  });

  it("groups by every label with '...'", () => {
    expect(groupKey({ b: "2", a: "1" }, [GROUP_BY_ALL])).toBe('a="1",b="2"');
    expect(groupKey({}, [GROUP_BY_ALL])).toBeNull();
  });

  it("ignores duplicates in group_by", () => {
    expect(groupKey({ alertname: "X" }, ["alertname", "alertname"])).toBe('alertname="X"');
  });
});

describe("groupId", () => {
  it("is a deterministic 16-character base62 id that fits callback data", () => {
    const id = groupId('alertname="HighLatency"');
    expect(id).toBe("YMMZFvKzJf5yXqZS");
    expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(`ag:more:${id}:12`.length).toBeLessThanOrEqual(64);
    expect(groupId('alertname="HighLatency"')).toBe(id);
  });

  it("differs between groups", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) ids.add(groupId(`alertname="A${i}"`));
    expect(ids.size).toBe(1000);
  });
});
