import { describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/schema.ts";
import {
  type InhibitionAlert,
  type InhibitRule,
  isInhibited,
} from "../../../src/guards/alerts/inhibition.ts";

const defaultRule: InhibitRule = {
  source_severity: "critical",
  target_severity: "warning",
  source_match: {},
  target_match: {},
  equal: ["alertname"],
};

function alert(
  key: string,
  severity: InhibitionAlert["severity"],
  labels: Record<string, string>,
): InhibitionAlert {
  return { key, severity, labels };
}

const critical = alert("crit", "critical", { alertname: "HighLatency", instance: "api-1" });
const warning = alert("warn", "warning", { alertname: "HighLatency", instance: "api-2" });

describe("isInhibited", () => {
  it("lets an open critical inhibit a warning with the same alertname (the default rule)", () => {
    expect(isInhibited(warning, [critical], [defaultRule])).toBe("crit");
  });

  it("needs every equal label to be equal", () => {
    const rule = { ...defaultRule, equal: ["alertname", "instance"] };
    expect(isInhibited(warning, [critical], [rule])).toBeNull();
    const sameInstance = alert("warn2", "warning", { alertname: "HighLatency", instance: "api-1" });
    expect(isInhibited(sameInstance, [critical], [rule])).toBe("crit");
    const otherName = alert("warn3", "warning", { alertname: "DiskFull", instance: "api-1" });
    expect(isInhibited(otherName, [critical], [defaultRule])).toBeNull();
  });

  it("does not count a label missing on the target as equal (pitwall's label-less alerts)", () => {
    const bareCritical = alert("c", "critical", {});
    const bareWarning = alert("w", "warning", {});
    expect(isInhibited(bareWarning, [bareCritical], [defaultRule])).toBeNull();
    const emptyName = alert("w2", "warning", { alertname: "" });
    expect(isInhibited(emptyName, [alert("c2", "critical", { alertname: "" })], [defaultRule])).toBeNull();
  });

  it("inhibits across the board with an empty equal list, as configured", () => {
    const rule = { ...defaultRule, equal: [] };
    expect(isInhibited(alert("w", "warning", {}), [alert("c", "critical", {})], [rule])).toBe("c");
  });

  it("checks severities and match labels on both sides", () => {
    expect(
      isInhibited(alert("i", "info", { alertname: "HighLatency" }), [critical], [defaultRule]),
    ).toBeNull();
    expect(
      isInhibited(warning, [alert("w9", "warning", { alertname: "HighLatency" })], [defaultRule]),
    ).toBeNull();
    const byLabels: InhibitRule = {
      source_severity: null,
      target_severity: null,
      source_match: { alertname: "NodeDown" },
      target_match: { job: "node-exporter" },
      equal: ["instance"],
    };
    const nodeDown = alert("down", "critical", { alertname: "NodeDown", instance: "db-1" });
    const diskFull = alert("disk", "warning", {
      alertname: "DiskFull",
      job: "node-exporter",
      instance: "db-1",
    });
    const apiDisk = alert("api", "warning", { alertname: "DiskFull", job: "api", instance: "db-1" });
    expect(isInhibited(diskFull, [nodeDown], [byLabels])).toBe("down");
    expect(isInhibited(apiDisk, [nodeDown], [byLabels])).toBeNull();
  });

  it("ignores resolved sources", () => {
    expect(isInhibited(warning, [{ ...critical, status: "resolved" }], [defaultRule])).toBeNull();
    expect(isInhibited(warning, [{ ...critical, status: "acknowledged" }], [defaultRule])).toBe("crit");
    expect(isInhibited(warning, [{ ...critical, status: "silenced" }], [defaultRule])).toBe("crit");
  });

  it("never lets an alert inhibit itself, nor two alerts hide each other", () => {
    const rule: InhibitRule = {
      source_severity: null,
      target_severity: null,
      source_match: { team: "db" },
      target_match: { team: "db" },
      equal: ["cluster"],
    };
    const a = alert("a", "warning", { team: "db", cluster: "eu" });
    const b = alert("b", "warning", { team: "db", cluster: "eu" });
    expect(isInhibited(a, [a], [rule])).toBeNull();
    expect(isInhibited(a, [a, b], [rule])).toBeNull();
    expect(isInhibited(b, [a, b], [rule])).toBeNull();
  });

  it("tries rules in order and sources in order", () => {
    const other = alert("crit2", "critical", { alertname: "HighLatency", instance: "api-9" });
    expect(isInhibited(warning, [other, critical], [defaultRule])).toBe("crit2");
    const infoRule: InhibitRule = { ...defaultRule, target_severity: "info" };
    expect(isInhibited(warning, [critical], [infoRule, defaultRule])).toBe("crit");
    expect(isInhibited(warning, [critical], [])).toBeNull();
    expect(isInhibited(warning, [], [defaultRule])).toBeNull();
  });

  it("takes the rules of the config as they are", () => {
    const rules: Config["alerting"]["inhibition"] = [
      {
        source_severity: "critical",
        target_severity: "warning",
        source_match: {},
        target_match: {},
        equal: ["alertname"],
      },
    ];
    expect(isInhibited(warning, [critical], rules)).toBe("crit");
  });
});
