import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listAudit } from "../../../src/store/audit.ts";
import { ADMIN_KEY, ANY_AGENT_KEY, bearer, CODER_KEY, READER_KEY } from "../../http/support.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  BASE_YAML,
  configFrom,
  FakeClock,
  FakeMode,
  type Instance,
  OPERATORS,
  startInstance,
} from "./support.ts";

// The HTTP API of approvals against real Postgres and the Postgres coordinator. Telegram is on
// (cards are queued in the outbox) but no worker delivers them here; test/bot/approvals covers that.

let tdb: TestDatabase;
let clock: FakeClock;
let mode: FakeMode;
let a: Instance;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  clock = new FakeClock();
  mode = new FakeMode();
  await tdb.db.query(
    "truncate approvals, approval_batches, approval_grants, approval_reason_prompts, outbox, audit_log, coord_counters cascade",
  );
  a = await startInstance({ db: tdb.db, url: tdb.url, config: configFrom(BASE_YAML), clock, mode });
});
afterEach(async () => {
  await a?.close();
});

function post(body: unknown, key = ADMIN_KEY, instance = a) {
  return instance.app.inject({
    method: "POST",
    url: "/v1/approvals",
    headers: bearer(key),
    payload: body as object,
  });
}

function get(url: string, key = ADMIN_KEY, instance = a) {
  return instance.app.inject({ method: "GET", url, headers: bearer(key) });
}

describe("POST /v1/approvals: each policy answer names its rule", () => {
  it("auto_approve: 200 approved by policy", async () => {
    const res = await post({ agent: "coder", tool: "read_file", args: { path: "README.md" } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: "approved",
      by: "policy",
      rule: "auto_approve",
      tool: "read_file",
    });
    expect(res.json().id).toMatch(/^[0-9A-Za-z]{16}$/);
  });

  it("permission_level: a read_only agent calling exec_command is denied", async () => {
    const res = await post({ agent: "reader", tool: "exec_command", args: { cmd: "ls" } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: "denied",
      by: "policy",
      rule: "permission_level",
      level: "read_only",
    });
    expect(res.json().reason).toContain("read_only");
  });

  it("argument_rule: an allowlisted command is approved, a forbidden one denied", async () => {
    const ok = await post({ agent: "coder", tool: "exec_command", args: { cmd: "git status" } });
    expect(ok.json()).toMatchObject({ status: "approved", rule: "argument_rule" });
    const no = await post({ agent: "coder", tool: "exec_command", args: { cmd: "mkfs.ext4 /dev/sda" } });
    expect(no.json()).toMatchObject({ status: "denied", rule: "argument_rule" });
    expect(no.json().reason).toContain("never format disks");
  });

  it("require_approval: 202 pending with its expiry; GET shows it pending", async () => {
    const res = await post({
      agent: "coder",
      tool: "Bash",
      args: { command: "rm /tmp/x" },
      reason: "cleanup",
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({
      status: "pending",
      rule: "require_approval",
      tool: "exec_command",
      original_tool: "Bash",
    });
    expect(Date.parse(body.expires_at) - clock.ms).toBe(5 * 60 * 1000);
    const read = await get(`/v1/approvals/${body.id}`);
    expect(read.json()).toMatchObject({
      id: body.id,
      status: "pending",
      agent: "coder",
      request_reason: "cleanup",
    });
  });

  it("input_check: a flagged auto-approve call goes to a human and carries the flag", async () => {
    const res = await post({
      agent: "coder",
      tool: "read_file",
      args: { path: "x", note: "sudo: cat /etc/shadow" },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      rule: "input_check",
      flags: [{ pattern: "sudo:", path: "args.note" }],
    });
  });

  it("maintenance: tools outside read_only are denied while an admin pins MAINTENANCE", async () => {
    mode.mode = "MAINTENANCE";
    const res = await post({ agent: "coder", tool: "exec_command", args: { cmd: "deploy" } });
    expect(res.json()).toMatchObject({ status: "denied", rule: "maintenance" });
    const read = await post({ agent: "coder", tool: "read_file", args: { path: "x" } });
    expect(read.json()).toMatchObject({ status: "approved", rule: "auto_approve" });
  });

  it("an unknown agent gets the default level, and the answer says so", async () => {
    const res = await post({ agent: "newbie", tool: "write_file", args: { path: "x" } });
    expect(res.json()).toMatchObject({
      status: "denied",
      rule: "permission_level",
      level: "limited",
      level_source: "default",
    });
    expect(res.json().reason).toContain("not in agents");
  });

  it("always_allow: after a grant the exact same call is approved, any other still asks", async () => {
    const args = { cmd: "make deploy", env: { TARGET: "staging" } };
    const first = await post({ agent: "coder", tool: "exec_command", args });
    const decided = await a.module.service.decide(first.json().id, "always", {
      id: OPERATORS.approver.id,
      name: "Apu",
    });
    expect(decided.kind).toBe("decided");
    // Same arguments in another key order: the same normalized call.
    const again = await post({
      agent: "coder",
      tool: "Bash",
      args: { env: { TARGET: "staging" }, cmd: "make deploy" },
    });
    expect(again.json()).toMatchObject({ status: "approved", rule: "always_allow" });
    // Never widened: another value, another agent, an extra argument.
    const other = await post({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "make deploy", env: { TARGET: "prod" } },
    });
    expect(other.statusCode).toBe(202);
    const extra = await post({ agent: "coder", tool: "exec_command", args: { ...args, force: true } });
    expect(extra.statusCode).toBe(202);
    const someoneElse = await post({ agent: "helper", tool: "exec_command", args });
    expect(someoneElse.statusCode).toBe(202);
    // Past always_allow_ttl the grant no longer applies.
    clock.advance(24 * 60 * 60 * 1000 + 1);
    const later = await post({ agent: "coder", tool: "exec_command", args });
    expect(later.statusCode).toBe(202);
  });
});

describe("bad input", () => {
  it("403 for an agent the key may not act for (audited)", async () => {
    const res = await post({ agent: "reader", tool: "read_file", args: {} }, CODER_KEY);
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe("forbidden");
    const audit = await listAudit(tdb.db, { action: "approval.forbidden" });
    expect(audit[0]).toMatchObject({ actor_id: "coder-bot", target: "agent:reader" });
  });

  it("403 for a key without the approvals scope", async () => {
    const res = await post({ agent: "coder", tool: "read_file", args: {} }, READER_KEY);
    expect(res.statusCode).toBe(403);
  });

  it("400 for a missing tool, naming the field", async () => {
    const res = await post({ agent: "coder", args: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain("body.tool");
  });

  it("400 when args is not an object", async () => {
    const res = await post({ agent: "coder", tool: "exec_command", args: ["ls"] });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain("JSON object");
    const { rows } = await tdb.db.query("select count(*)::int as n from approvals");
    expect(rows[0].n).toBe(0);
  });

  it("413 with the denial and its reason for arguments over max_length", async () => {
    const words = Array.from({ length: 12_000 }, (_, i) => `word${i}`).join(" ");
    const res = await post({ agent: "coder", tool: "exec_command", args: { cmd: words } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({
      error: "args_too_long",
      details: { status: "denied", by: "policy", rule: "input_check", limit: 10_000 },
    });
    expect(res.json().message).toContain("max_length");
  });

  it("NUL characters (valid JSON, refused by Postgres text) never crash a request", async () => {
    const res = await post({
      agent: "coder",
      tool: "exec_command",
      args: { "cmd\u0000": "echo \u0000", nested: ["\u0000"] },
      reason: "nul \u0000 inside",
      run_id: "run\u0000x",
      idempotency_key: "key\u0000",
    });
    expect(res.statusCode).toBe(202);
    const again = await post({
      agent: "coder",
      tool: "exec_command",
      args: { "cmd\u0000": "echo \u0000", nested: ["\u0000"] },
      idempotency_key: "key\u0000",
    });
    expect(again.json().id).toBe(res.json().id);
    expect((await get(`/v1/approvals/${res.json().id}`)).json().args).toEqual({
      "cmd\uFFFD": "echo \uFFFD",
      nested: ["\uFFFD"],
    });
  });

  it("400 for a malformed id, 404 for an unknown one", async () => {
    expect((await get("/v1/approvals/nope")).statusCode).toBe(400);
    expect((await get("/v1/approvals/AAAAAAAAAAAAAAAA")).statusCode).toBe(404);
  });
});

describe("idempotency", () => {
  it("a retry with the same key returns the same approval; another request with it is a conflict", async () => {
    const body = { agent: "coder", tool: "exec_command", args: { cmd: "ls" }, idempotency_key: "k-1" };
    const [one, two] = await Promise.all([post(body), post(body)]);
    expect(one.statusCode).toBe(202);
    expect(two.statusCode).toBe(202);
    expect(two.json().id).toBe(one.json().id);
    const three = await post(body);
    expect(three.json().id).toBe(one.json().id);
    const { rows } = await tdb.db.query("select count(*)::int as n from approvals");
    expect(rows[0].n).toBe(1);
    const other = await post({ ...body, args: { cmd: "rm -rf /" } });
    expect(other.statusCode).toBe(409);
    expect(other.json().details.approval_id).toBe(one.json().id);
  });

  it("a retry of a policy decision gets the same 200", async () => {
    const body = { agent: "coder", tool: "read_file", args: { path: "a" }, idempotency_key: "k-2" };
    const one = await post(body);
    const two = await post(body);
    expect(two.statusCode).toBe(200);
    expect(two.json().id).toBe(one.json().id);
  });
});

describe("listing and waiting", () => {
  it("GET /v1/approvals?status=pending lists only pending ones, and only the key's agents", async () => {
    const p1 = await post({ agent: "coder", tool: "exec_command", args: { cmd: "a" } });
    await post({ agent: "coder", tool: "read_file", args: { path: "b" } });
    const p2 = await post({ agent: "helper", tool: "exec_command", args: { cmd: "c" } });
    const all = await get("/v1/approvals?status=pending");
    expect(all.json().approvals.map((x: { id: string }) => x.id)).toEqual([p2.json().id, p1.json().id]);
    const mine = await get("/v1/approvals?status=pending", CODER_KEY);
    expect(mine.json().approvals.map((x: { id: string }) => x.id)).toEqual([p1.json().id]);
    // agents: ["*"] means any agent, for listing as for acting
    const any = await get("/v1/approvals?status=pending", ANY_AGENT_KEY);
    expect(any.json().approvals.map((x: { id: string }) => x.id)).toEqual([p2.json().id, p1.json().id]);
    const page = await get("/v1/approvals?limit=1");
    expect(page.json().approvals).toHaveLength(1);
    const next = await get(`/v1/approvals?limit=5&cursor=${page.json().next_cursor}`);
    expect(next.json().approvals).toHaveLength(2);
  });

  it("the bot's pages: pending and grants by offset, newest first, with totals of what is active", async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) {
      ids.push((await post({ agent: "coder", tool: "exec_command", args: { cmd: `job ${n}` } })).json().id);
    }
    const actor = { id: OPERATORS.approver.id, name: "Apu" };
    await a.module.service.decide(ids[0]!, "always", actor);
    clock.advance(1_000);
    await a.module.service.decide(ids[1]!, "always", actor);
    const service = a.module.service;

    const first = await service.pending({ limit: 2 });
    expect(first).toMatchObject({ total: 3 });
    expect(first.rows.map((row) => row.id)).toEqual([ids[4], ids[3]]);
    const rest = await service.pending({ limit: 2, offset: 2 });
    expect(rest.rows.map((row) => row.id)).toEqual([ids[2]]);
    expect(await service.pending({ limit: 2, offset: 10 })).toEqual({ rows: [], total: 3 });

    const grants = await service.grants({ limit: 1, offset: 1 });
    expect(grants.total).toBe(2);
    expect(grants.rows.map((grant) => grant.approval_id)).toEqual([ids[0]]);
    // A limit of 0 still counts (the bot asks so when pending requests fill a page).
    expect(await service.grants({ limit: 0, offset: 0 })).toEqual({ rows: [], total: 2 });

    // Expired requests are no longer pending; revoked grants are no longer active.
    clock.advance(5 * 60 * 1000 + 1);
    expect(await service.pending({ limit: 8 })).toEqual({ rows: [], total: 0 });
    const newest = (await service.grants({ limit: 1 })).rows[0]!;
    await service.revokeGrant(newest.id, actor);
    expect((await service.grants({ limit: 8 })).total).toBe(1);
  });

  it("a key may not read another agent's approval", async () => {
    const p = await post({ agent: "helper", tool: "exec_command", args: { cmd: "c" } });
    expect((await get(`/v1/approvals/${p.json().id}`, CODER_KEY)).statusCode).toBe(403);
  });

  it("a long poll is woken by a decision made through a second instance on the same database", async () => {
    const b = await startInstance({
      db: tdb.db,
      url: tdb.url,
      config: configFrom(BASE_YAML),
      clock,
      name: "b",
    });
    try {
      const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "deploy" } });
      const id = created.json().id as string;
      const polling = get(`/v1/approvals/${id}?wait=60`);
      // The waiter is registered (no fixed sleep: wait until it is).
      await waitForWaiter(a, 1);
      const decided = await b.module.service.decide(
        id,
        "deny",
        { id: OPERATORS.admin.id, name: "Ada" },
        "not today",
      );
      expect(decided.kind).toBe("decided");
      const answer = await polling;
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({
        id,
        status: "denied",
        by: "human",
        decided_by: { id: String(OPERATORS.admin.id), name: "Ada" },
        reason: "not today",
      });
    } finally {
      await b.close();
    }
  });

  it("a long poll answers with the current state when the server shuts down", async () => {
    const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "deploy" } });
    const polling = get(`/v1/approvals/${created.json().id}?wait=60`);
    await waitForWaiter(a, 1);
    const closing = a.app.close();
    const answer = await polling;
    await closing;
    expect(answer.json()).toMatchObject({ status: "pending" });
  });

  it("wait over 60 is clamped, a negative wait is refused", async () => {
    const created = await post({ agent: "coder", tool: "read_file", args: { path: "x" } });
    expect((await get(`/v1/approvals/${created.json().id}?wait=600`)).json().status).toBe("approved");
    expect((await get(`/v1/approvals/${created.json().id}?wait=-1`)).statusCode).toBe(400);
  });
});

describe("expiry", () => {
  it("past expires_at it reads as expired at once and can no longer be decided", async () => {
    const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "x" }, timeout_s: 30 });
    const id = created.json().id as string;
    clock.advance(30_000);
    const read = await get(`/v1/approvals/${id}`);
    expect(read.json()).toMatchObject({ status: "expired", by: "expiry" });
    const late = await a.module.service.decide(id, "approve", { id: OPERATORS.admin.id, name: "Ada" });
    expect(late.kind).toBe("too_late");
    // The job records it (audited, once).
    expect(await a.module.service.expireDue()).toBe(1);
    expect(await a.module.service.expireDue()).toBe(0);
    const audit = await listAudit(tdb.db, { action: "approval.expired" });
    expect(audit).toHaveLength(1);
    expect((await get(`/v1/approvals/${id}`)).json()).toMatchObject({ status: "expired", by: "expiry" });
  });

  it("a decision and the expiry racing at the deadline: exactly one wins", async () => {
    for (let round = 0; round < 5; round++) {
      const created = await post({
        agent: "coder",
        tool: "exec_command",
        args: { cmd: `r${round}` },
        timeout_s: 5,
      });
      const id = created.json().id as string;
      clock.advance(5_000 - (round % 2)); // at, or 1 ms before, the deadline
      const [decided] = await Promise.all([
        a.module.service.decide(id, "approve", { id: OPERATORS.admin.id, name: "Ada" }),
        a.module.service.expireDue(),
      ]);
      const { rows } = await tdb.db.query("select status from approvals where id = $1", [id]);
      if (decided.kind === "decided") expect(rows[0].status).toBe("approved");
      else expect(rows[0].status).toBe("expired");
      const decisions = await tdb.db.query(
        "select count(*)::int as n from audit_log where target = $1 and action in ('approval.decided', 'approval.expired')",
        [`approval:${id}`],
      );
      expect(decisions.rows[0].n).toBe(1);
    }
  });
});

describe("decisions", () => {
  it("two approvers pressing at once: exactly one decision", async () => {
    const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    const id = created.json().id as string;
    const results = await Promise.all([
      a.module.service.decide(id, "approve", { id: OPERATORS.approver.id, name: "Apu" }),
      a.module.service.decide(id, "deny", { id: OPERATORS.approver2.id, name: "Bea" }),
      a.module.service.decide(id, "always", { id: OPERATORS.admin.id, name: "Ada" }),
    ]);
    expect(results.filter((r) => r.kind === "decided")).toHaveLength(1);
    expect(results.filter((r) => r.kind === "too_late")).toHaveLength(2);
    const audit = await listAudit(tdb.db, { action: "approval.decided" });
    expect(audit).toHaveLength(1);
  });

  it("secrets never reach the database: the row and the audit hold redacted arguments", async () => {
    const secret = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    const created = await post({
      agent: "coder",
      tool: "http_post",
      args: {
        url: "https://api.example.com",
        headers: { Authorization: `Bearer ${secret}` },
        password: "hunter2hunter2",
      },
      reason: `use token ${secret}`,
    });
    expect(created.statusCode).toBe(202);
    await a.module.service.decide(created.json().id, "always", { id: OPERATORS.admin.id, name: "Ada" });
    const dump = await tdb.db.query(
      `select (select json_agg(a) from approvals a)::text as approvals,
              (select json_agg(g) from approval_grants g)::text as grants,
              (select json_agg(l) from audit_log l)::text as audit,
              (select json_agg(o) from outbox o)::text as outbox`,
    );
    const text = JSON.stringify(dump.rows[0]);
    expect(text).not.toContain(secret);
    expect(text).not.toContain("hunter2hunter2");
    expect(text).toContain("[REDACTED]");
    // The grant still binds the exact secret: another token is not covered.
    const same = await post({
      agent: "coder",
      tool: "http_post",
      args: {
        url: "https://api.example.com",
        headers: { Authorization: `Bearer ${secret}` },
        password: "hunter2hunter2",
      },
    });
    expect(same.json()).toMatchObject({ status: "approved", rule: "always_allow" });
    const otherSecret = await post({
      agent: "coder",
      tool: "http_post",
      args: {
        url: "https://api.example.com",
        headers: { Authorization: "Bearer sk-proj-Other" },
        password: "hunter2hunter2",
      },
    });
    expect(otherSecret.statusCode).toBe(202);
  });

  it("every request and policy decision is audited with the request's trace id", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await a.app.inject({
      method: "POST",
      url: "/v1/approvals",
      headers: { ...bearer(ADMIN_KEY), traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      payload: { agent: "coder", tool: "read_file", args: { path: "x" } },
    });
    const target = `approval:${res.json().id}`;
    const { rows } = await tdb.db.query(
      "select action, trace_id from audit_log where target = $1 order by id",
      [target],
    );
    expect(rows).toEqual([
      { action: "approval.requested", trace_id: traceId },
      { action: "approval.policy_decided", trace_id: traceId },
    ]);
  });
});

describe("telegram and restarts", () => {
  it("without Telegram nothing is queued, and approvals still work over HTTP", async () => {
    await a.close();
    a = await startInstance({
      db: tdb.db,
      url: tdb.url,
      config: configFrom(BASE_YAML),
      clock,
      telegramEnabled: false,
    });
    const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    expect(created.statusCode).toBe(202);
    const { rows } = await tdb.db.query("select count(*)::int as n from outbox");
    expect(rows[0].n).toBe(0);
  });

  it("with Telegram the card is queued in the same transaction, at the approvals priority", async () => {
    const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    const { rows } = await tdb.db.query("select kind, priority, chat_id, message_ref from outbox");
    expect(rows).toEqual([
      {
        kind: "approval_prompt",
        priority: 0,
        chat_id: "-1007000000001",
        message_ref: `approval:${created.json().id}`,
      },
    ]);
  });

  it("rings like a warning: loud by day, silent in quiet hours", async () => {
    await a.close();
    const yaml = BASE_YAML.replace(
      "telegram:\n",
      'telegram:\n  quiet_hours: { from: "23:00", to: "07:00", timezone: UTC }\n',
    );
    expect(yaml).toContain("quiet_hours");
    clock = new FakeClock(Date.parse("2026-11-25T12:00:00Z"));
    a = await startInstance({ db: tdb.db, url: tdb.url, config: configFrom(yaml), clock });
    await post({ agent: "coder", tool: "exec_command", args: { cmd: "by day" } });
    clock.ms = Date.parse("2026-11-26T03:00:00Z");
    await post({ agent: "coder", tool: "exec_command", args: { cmd: "at night" } });
    const { rows } = await tdb.db.query<{ silent: boolean }>(
      "select (payload->>'silent')::boolean as silent from outbox where kind = 'approval_prompt' order by id",
    );
    expect(rows).toEqual([{ silent: false }, { silent: true }]);
  });

  it("pending approvals survive a restart and can be decided after it", async () => {
    const created = await post({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    await a.close();
    a = await startInstance({ db: tdb.db, url: tdb.url, config: configFrom(BASE_YAML), clock });
    expect((await get(`/v1/approvals/${created.json().id}`)).json().status).toBe("pending");
    const decided = await a.module.service.decide(created.json().id, "approve", {
      id: OPERATORS.admin.id,
      name: "Ada",
    });
    expect(decided.kind).toBe("decided");
  });
});

describe("rate limit per key", () => {
  it("past safety.output.rate_limit_per_user the key gets 429 (audited once)", async () => {
    await a.close();
    a = await startInstance({
      db: tdb.db,
      url: tdb.url,
      config: configFrom(BASE_YAML.replace("100 requests/hour", "3 requests/hour")),
      clock,
    });
    for (let i = 0; i < 3; i++) {
      expect((await post({ agent: "coder", tool: "read_file", args: { i } }, CODER_KEY)).statusCode).toBe(
        200,
      );
    }
    const limited = await post({ agent: "coder", tool: "read_file", args: { i: 4 } }, CODER_KEY);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBeDefined();
    await post({ agent: "coder", tool: "read_file", args: { i: 5 } }, CODER_KEY);
    expect(await listAudit(tdb.db, { action: "approval.rate_limited" })).toHaveLength(1);
    // Other keys are not affected.
    expect((await post({ agent: "coder", tool: "read_file", args: { i: 6 } })).statusCode).toBe(200);
  });
});

async function waitForWaiter(instance: Instance, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (instance.module.service.waiters.size < n) {
    if (Date.now() > deadline) throw new Error("the long poll never started waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
