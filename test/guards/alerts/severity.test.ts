import { describe, expect, it } from "vitest";
import {
  alertIcon,
  compareSeverity,
  isAtLeast,
  maxSeverity,
  parseSeverity,
  SEVERITY_ICONS,
  severityFromLabel,
} from "../../../src/guards/alerts/severity.ts";

describe("severity", () => {
  it("orders info < warning < critical", () => {
    expect(["critical", "info", "warning"].sort((a, b) => compareSeverity(a as never, b as never))).toEqual([
      "info",
      "warning",
      "critical",
    ]);
    expect(isAtLeast("critical", "warning")).toBe(true);
    expect(isAtLeast("warning", "warning")).toBe(true);
    expect(isAtLeast("info", "warning")).toBe(false);
    expect(maxSeverity(["info", "critical", "warning"])).toBe("critical");
    expect(maxSeverity([])).toBeNull();
  });

  it("shows the state an operator acts on, else the severity", () => {
    expect(alertIcon("critical")).toBe("🔴");
    expect(alertIcon("warning", "firing")).toBe("🟠");
    expect(alertIcon("info", "firing")).toBe("🔵");
    expect(alertIcon("critical", "resolved")).toBe("✅");
    expect(alertIcon("critical", "acknowledged")).toBe("👀");
    expect(alertIcon("warning", "silenced")).toBe("🔕");
    expect(new Set(Object.values(SEVERITY_ICONS)).size).toBe(3);
  });

  it("parses a typed severity in any case, and nothing else", () => {
    expect(parseSeverity(" Critical ")).toBe("critical");
    expect(parseSeverity("WARNING")).toBe("warning");
    expect(parseSeverity("info")).toBe("info");
    expect(parseSeverity("high")).toBeNull();
    expect(parseSeverity("")).toBeNull();
  });

  it("reads Alertmanager's severity label per DESIGN.md", () => {
    expect(severityFromLabel("critical")).toBe("critical");
    expect(severityFromLabel("page")).toBe("critical");
    expect(severityFromLabel("PAGE")).toBe("critical");
    expect(severityFromLabel("warning")).toBe("warning");
    expect(severityFromLabel("warn")).toBe("warning");
    expect(severityFromLabel("error")).toBe("info");
    expect(severityFromLabel("none")).toBe("info");
    expect(severityFromLabel(undefined)).toBe("info");
  });
});
