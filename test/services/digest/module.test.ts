import type { Update } from "grammy/types";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createBot, type PitwallBot } from "../../../src/bot/create-bot.ts";
import type { Config } from "../../../src/config/index.ts";
import type { OutboxWorker } from "../../../src/delivery/worker.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import { createMetrics } from "../../../src/observability/metrics.ts";
import { createDigestModule, type DigestModule } from "../../../src/services/digest/module.ts";
import { CATCH_UP_GRACE_MS } from "../../../src/services/digest/service.ts";
import { claimDigest } from "../../../src/services/digest/store.ts";
import { inTransaction } from "../../../src/store/pool.ts";
import { memoryCoordinator } from "../../bot/memory-coordinator.ts";
import { startLocalSmtp } from "../../delivery/notifiers/support.ts";
import { createDeliveryBed, type DeliveryBed, waitUntil } from "../../delivery/support.ts";
import type { StoredMessage } from "../../fake-bot-api/index.ts";
import {
  config,
  type FakeClock,
  fakeClock,
  seedIncident,
  seedUsage,
  truncateDigestTables,
} from "./support.ts";

// The digest end to end: the module's jobs on a fake clock, the real outbox worker delivering to the
// fake Bot API over HTTP, real Postgres (claims, coordination), and a recording email notifier.

const DIGEST_CHAT = -1001000000002;
const admin = { id: 1001, first_name: "Ada", language_code: "en" };
const viewer = { id: 1002, first_name: "Val", language_code: "en" };
const group = { id: -1001000000009, type: "supergroup" as const, title: "ops" };

const YAML = `
telegram:
  operators: [{ id: 1001, role: admin }, { id: 1002, role: viewer }]
  chats: { alerts: -1001000000001, digest: { id: ${DIGEST_CHAT}, thread: 7 } }
alerting:
  email: { smtp_url: "smtp://127.0.0.1:2525", from: "pitwall@example.com", to: [ops@example.com] }
digest: { email: true }
routing:
  providers: [openai]
`;

interface RecordedMail {
  subject: string;
  text: string;
  html?: string;
}

/** An email notifier that records what it is given; answers come from `results` (default ok). */
function recordingMailer(results: unknown[] = []) {
  const sent: RecordedMail[] = [];
  return {
    sent,
    async send(message: RecordedMail) {
      sent.push(message);
      return results.shift() ?? { ok: true };
    },
  };
}

let bed: DeliveryBed;
let clock: FakeClock;
let worker: OutboxWorker;
const modules: DigestModule[] = [];

beforeAll(async () => {
  bed = await createDeliveryBed();
});
afterAll(async () => {
  await bed?.close();
});
beforeEach(async () => {
  await bed.reset();
  await truncateDigestTables(bed.db);
  clock = fakeClock("2030-01-15T09:00:00Z");
  worker = bed.worker();
  worker.start();
});
afterEach(async () => {
  await worker.stop();
  for (const module of modules.splice(0)) await module.close?.();
});

async function digestModule(
  opts: { config?: Config; mailer?: ReturnType<typeof recordingMailer>; telegram?: boolean } = {},
): Promise<DigestModule> {
  const module = await createDigestModule({
    config: opts.config ?? config(YAML),
    db: bed.db,
    coord: bed.coord,
    log: silentLogger(),
    metrics: createMetrics(),
    now: clock.now,
    telegramEnabled: opts.telegram ?? true,
    ...(opts.mailer ? { notifiers: { email: opts.mailer } } : {}),
  });
  modules.push(module);
  return module;
}

function runJob(module: DigestModule, name: "digest" | "digest-catch-up"): Promise<void> {
  const job = module.jobs?.find((entry) => entry.name === name);
  if (!job) throw new Error(`no job ${name}`);
  return job.run({ log: silentLogger(), signal: new AbortController().signal });
}

const sentToChat = (chatId: number): StoredMessage[] => bed.fake.messages(chatId).filter((m) => m.outgoing);

/** Waits until the chat has `count` messages from the bot. */
function delivered(chatId: number, count: number): Promise<StoredMessage[]> {
  return waitUntil(() => {
    const messages = sentToChat(chatId);
    return messages.length >= count ? messages : undefined;
  }, `${count} messages in ${chatId}`);
}

interface DigestRow {
  date: string;
  late: boolean;
  email_status: string;
  email_attempts: number;
  photo_outbox_id: number | null;
  text_outbox_id: number | null;
}

async function digestRows(): Promise<DigestRow[]> {
  const { rows } = await bed.db.query<DigestRow>(
    `select to_char(digest_date, 'YYYY-MM-DD') as date, late, email_status, email_attempts, photo_outbox_id,
            text_outbox_id
       from digests order by digest_date`,
  );
  return rows;
}

async function digestOutboxRows(): Promise<number> {
  const { rows } = await bed.db.query<{ n: number }>(
    "select count(*)::int as n from outbox where kind = 'digest'",
  );
  return rows[0]!.n;
}

describe("the daily digest", () => {
  it("sends the digest chat the chart with its headline and the full text, silently, and emails it", async () => {
    await seedIncident(bed.db, {
      key: "disk:<db-1>",
      severity: "critical",
      title: "Disk & more",
      firstSeen: Date.parse("2030-01-14T20:00:00Z"),
      repeats: [Date.parse("2030-01-14T20:05:00Z")],
    });
    await seedUsage(bed.db, {
      at: Date.parse("2030-01-15T08:30:00Z"),
      provider: "openai",
      input: 1000,
      output: 234,
    });
    const mailer = recordingMailer();
    const module = await digestModule({ mailer });
    await runJob(module, "digest");

    const [photo, text] = await delivered(DIGEST_CHAT, 2);
    expect(photo?.photo).toBeDefined();
    expect(photo?.caption).toBe(
      [
        "📊 Daily digest · 2030-01-15",
        "🚨 incidents: fired 1 · resolved 0 · open 1",
        "✋ approvals: approved 0 · denied 0 · expired 0",
        "🪙 usage: 1 234 tokens · $0.00",
        "⚡ breaker trips 0 · check failures 0 · mode changes 0",
      ].join("\n"),
    );
    expect(text?.text).toContain("📊 Daily digest · 2030-01-15\n2030-01-14 09:00 – 2030-01-15 09:00 UTC");
    expect(text?.text).toContain("1. 🔴 disk:<db-1> ×2 — Disk & more");
    expect(text?.text).toContain("openai: 1 234 tokens");
    expect(text?.entities.some((entity) => entity.type === "code")).toBe(true);
    // The digest is silent, in the configured forum topic.
    for (const message of [photo!, text!]) {
      expect(message.disable_notification).toBe(true);
      expect(message.message_thread_id).toBe(7);
    }
    const upload = bed.fake.callsOf("sendPhoto")[0]?.params.photo as { content: Buffer; filename: string };
    expect(upload.filename).toBe("digest-2030-01-15.png");
    expect([...upload.content.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]?.subject).toBe("pitwall digest 2030-01-15");
    expect(mailer.sent[0]?.text).toContain("1. 🔴 disk:<db-1> ×2 — Disk & more");
    expect(mailer.sent[0]?.html).toContain("disk:&lt;db-1&gt;");
    const [row] = await digestRows();
    expect(row).toMatchObject({ date: "2030-01-15", late: false, email_status: "sent", email_attempts: 1 });
    expect(row?.photo_outbox_id).not.toBeNull();
    expect(row?.text_outbox_id).toBe(row!.photo_outbox_id! + 1);
  });

  it("goes out once per date when the job runs twice, and on two instances at once", async () => {
    const mailer = recordingMailer();
    const first = await digestModule({ mailer });
    const second = await digestModule({ mailer });
    await runJob(first, "digest");
    await runJob(first, "digest");
    // A second leader for a moment, and the catch-up racing the schedule, all past the grace.
    clock.advance(CATCH_UP_GRACE_MS + 1000);
    await Promise.all([
      runJob(first, "digest"),
      runJob(second, "digest"),
      runJob(first, "digest-catch-up"),
      runJob(second, "digest-catch-up"),
    ]);
    await delivered(DIGEST_CHAT, 2);
    expect(await digestOutboxRows()).toBe(2);
    expect(await digestRows()).toMatchObject([{ date: "2030-01-15", late: false }]);
    expect(mailer.sent).toHaveLength(1);

    // Two instances racing for a date nobody has claimed yet.
    clock.set("2030-01-16T09:00:00Z");
    await Promise.all([runJob(first, "digest"), runJob(second, "digest")]);
    await delivered(DIGEST_CHAT, 4);
    expect(await digestOutboxRows()).toBe(4);
    expect((await digestRows()).map((row) => row.date)).toEqual(["2030-01-15", "2030-01-16"]);
    expect(mailer.sent.map((mail) => mail.subject)).toEqual([
      "pitwall digest 2030-01-15",
      "pitwall digest 2030-01-16",
    ]);
    expect(sentToChat(DIGEST_CHAT)).toHaveLength(4);
  });

  it("sends a run missed while pitwall was down when it comes back, marked late; the next day is normal", async () => {
    const mailer = recordingMailer();
    const module = await digestModule({ mailer });
    // Back at 11:30: the 09:00 run was missed.
    clock.set("2030-01-15T11:30:00Z");
    await runJob(module, "digest-catch-up");
    const [photo, text] = await delivered(DIGEST_CHAT, 2);
    expect(photo?.caption?.split("\n")[0]).toBe("📊 Daily digest · 2030-01-15 · ⏰ late");
    expect(text?.text).toContain(
      "⏰ Late: scheduled for 09:00, sent at 11:30 (pitwall was not running at the scheduled time).",
    );
    // It covers the scheduled day, not the 24 hours before it went out.
    expect(text?.text).toContain("2030-01-14 09:00 – 2030-01-15 09:00 UTC");
    expect(mailer.sent[0]?.subject).toBe("pitwall digest 2030-01-15 (late)");
    expect(await digestRows()).toMatchObject([{ date: "2030-01-15", late: true }]);

    // Every further catch-up that day finds it sent.
    clock.set("2030-01-15T18:00:00Z");
    await runJob(module, "digest-catch-up");
    // The next day: the catch-up leaves the schedule its grace, then the schedule sends on time.
    clock.set("2030-01-16T09:00:30Z");
    await runJob(module, "digest-catch-up");
    expect(await digestRows()).toHaveLength(1);
    await runJob(module, "digest");
    clock.set("2030-01-16T09:10:00Z");
    await runJob(module, "digest-catch-up");
    const messages = await delivered(DIGEST_CHAT, 4);
    expect(messages).toHaveLength(4);
    expect(messages[2]?.caption?.split("\n")[0]).toBe("📊 Daily digest · 2030-01-16");
    expect(messages[3]?.text).not.toContain("Late");
    expect(await digestRows()).toMatchObject([
      { date: "2030-01-15", late: true },
      { date: "2030-01-16", late: false },
    ]);
    expect(mailer.sent.map((mail) => mail.subject)).toEqual([
      "pitwall digest 2030-01-15 (late)",
      "pitwall digest 2030-01-16",
    ]);
  });

  it("catches up only the latest missed run, and never an older digest after a newer one", async () => {
    const module = await digestModule();
    // Down from before the 14th's run until 08:00 on the 15th: the 14th's goes out late...
    clock.set("2030-01-15T08:00:00Z");
    await runJob(module, "digest-catch-up");
    // ...and the 15th's on time.
    clock.set("2030-01-15T09:00:00Z");
    await runJob(module, "digest");
    expect(await digestRows()).toMatchObject([
      { date: "2030-01-14", late: true },
      { date: "2030-01-15", late: false },
    ]);
    // Down for three days: one catch-up, for the latest run only.
    clock.set("2030-01-18T10:00:00Z");
    await runJob(module, "digest-catch-up");
    await runJob(module, "digest-catch-up");
    expect((await digestRows()).map((row) => `${row.date}${row.late ? " late" : ""}`)).toEqual([
      "2030-01-14 late",
      "2030-01-15",
      "2030-01-18 late",
    ]);
    await delivered(DIGEST_CHAT, 6);
    // A run for the 17th (a slow instance) can no longer claim it.
    const claimed = await inTransaction(bed.db, (client) =>
      claimDigest(client, {
        date: "2030-01-17",
        scheduledAt: Date.parse("2030-01-17T09:00:00Z"),
        windowStart: Date.parse("2030-01-16T09:00:00Z"),
        windowEnd: Date.parse("2030-01-17T09:00:00Z"),
        late: true,
        createdAt: clock.now().getTime(),
        email: null,
        summary: {},
      }),
    );
    expect(claimed).toBe(false);
    expect(await digestRows()).toHaveLength(3);
  });

  it("does not call a schedule missed that passed before pitwall had digests", async () => {
    const module = await digestModule();
    // The digests table was created just now (real time); this run was long before.
    clock.set("2020-01-15T11:00:00Z");
    await runJob(module, "digest-catch-up");
    expect(await digestRows()).toEqual([]);
    // The schedule's own run still sends.
    clock.set("2020-01-16T09:00:00Z");
    await runJob(module, "digest");
    expect(await digestRows()).toMatchObject([{ date: "2020-01-16", late: false }]);
  });

  it("retries a failed email with back-off, and gives up on a permanent failure", async () => {
    const mailer = recordingMailer([
      { ok: false, retryable: true, error: "SMTP 127.0.0.1:2525: connection refused" },
      { ok: false, retryable: true, error: "again" },
    ]);
    const module = await digestModule({ mailer });
    await runJob(module, "digest");
    expect(await digestRows()).toMatchObject([{ email_status: "pending", email_attempts: 1 }]);
    // Not due yet: nothing is tried.
    clock.advance(30_000);
    await runJob(module, "digest-catch-up");
    expect(mailer.sent).toHaveLength(1);
    clock.advance(31_000);
    await runJob(module, "digest-catch-up");
    expect(mailer.sent).toHaveLength(2);
    expect(await digestRows()).toMatchObject([{ email_status: "pending", email_attempts: 2 }]);
    clock.advance(2 * 60_000);
    await runJob(module, "digest-catch-up");
    expect(mailer.sent).toHaveLength(3);
    expect(await digestRows()).toMatchObject([{ email_status: "sent", email_attempts: 3 }]);
    expect(new Set(mailer.sent.map((mail) => mail.subject))).toEqual(new Set(["pitwall digest 2030-01-15"]));

    const refusing = recordingMailer([{ ok: false, retryable: false, error: "535 authentication failed" }]);
    clock.set("2030-01-16T09:00:00Z");
    await (await digestModule({ mailer: refusing })).jobs
      ?.find((job) => job.name === "digest")
      ?.run({
        log: silentLogger(),
        signal: new AbortController().signal,
      });
    const { rows } = await bed.db.query<{ email_status: string; email_error: string }>(
      "select email_status, email_error from digests where digest_date = '2030-01-16'",
    );
    expect(rows[0]).toEqual({ email_status: "failed", email_error: "535 authentication failed" });
    // The chat got it regardless.
    await delivered(DIGEST_CHAT, 4);
  });

  it("mails its own recipients through alerting.email's server when digest.email lists them", async () => {
    const smtp = await startLocalSmtp({ user: "pitwall", password: "s3cret" });
    try {
      const alertsMailer = recordingMailer();
      const module = await digestModule({
        mailer: alertsMailer,
        config: config(
          YAML.replace('smtp_url: "smtp://127.0.0.1:2525"', `smtp_url: "${smtp.url()}"`).replace(
            "digest: { email: true }",
            "digest: { email: [team@example.com, cto@example.com] }",
          ),
        ),
      });
      await runJob(module, "digest");
      expect(alertsMailer.sent).toEqual([]);
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]?.to).toEqual(["team@example.com", "cto@example.com"]);
      expect(smtp.received[0]?.raw).toContain("Subject: pitwall digest 2030-01-15");
      expect(await digestRows()).toMatchObject([{ email_status: "sent" }]);
    } finally {
      await smtp.close();
    }
  });

  it("without Telegram sends only the email; with neither it schedules nothing", async () => {
    const mailer = recordingMailer();
    const emailOnly = await digestModule({ mailer, telegram: false });
    await runJob(emailOnly, "digest");
    expect(mailer.sent).toHaveLength(1);
    expect(await digestOutboxRows()).toBe(0);
    expect(await digestRows()).toMatchObject([
      { photo_outbox_id: null, text_outbox_id: null, email_status: "sent" },
    ]);

    const nowhere = await digestModule({
      telegram: false,
      config: config("digest: { schedule: '30 7 * * *' }"),
    });
    expect(nowhere.jobs).toEqual([]);
    expect(nowhere.botFeatures?.map((feature) => feature.name)).toEqual(["digest"]);
    const scheduled = await digestModule({
      config: config(
        YAML.replace(
          "digest: { email: true }",
          "digest: { schedule: '30 7 * * 1-5', timezone: Europe/Berlin }",
        ),
      ),
    });
    expect(scheduled.jobs?.find((job) => job.name === "digest")).toMatchObject({
      cron: "30 7 * * 1-5",
      timezone: "Europe/Berlin",
    });
  });
});

describe("/digest", () => {
  let bot: PitwallBot;

  beforeEach(async () => {
    const module = await digestModule();
    bot = createBot(bed.fake.token, {
      operators: [
        { id: admin.id, role: "admin" },
        { id: viewer.id, role: "viewer" },
      ],
      db: bed.db,
      coord: memoryCoordinator(),
      log: silentLogger(),
      apiRoot: bed.fake.apiRoot,
      features: module.botFeatures,
    });
    bot.botInfo = {
      ...bed.fake.botUser,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    } as PitwallBot["botInfo"];
    await seedIncident(bed.db, {
      key: "api-down",
      severity: "critical",
      firstSeen: clock.now().getTime() - 60_000,
    });
  });

  async function say(from: typeof viewer, text: string, chat?: typeof group): Promise<void> {
    const update = bed.fake.injectMessage({ from, text, ...(chat ? { chat } : {}) }) as unknown as Update;
    await bot.handleUpdate(update);
  }

  it("sends the asking operator, in private, the chart and the text of the last 24 hours", async () => {
    clock.set("2030-01-15T14:37:00Z");
    await say(viewer, "/digest");
    const [photo, text] = sentToChat(viewer.id);
    expect(photo?.photo).toBeDefined();
    expect(photo?.caption?.split("\n")[0]).toBe("📊 Digest of the last 24 hours");
    expect(text?.text).toContain("2030-01-14 14:37 – 2030-01-15 14:37 UTC");
    expect(text?.text).toContain("1. 🔴 api-down ×1");
    expect(photo?.disable_notification).toBe(true);
    expect(text?.disable_notification).toBe(true);
    // Not through the digest chat, and nothing queued: the operator is waiting for it.
    expect(sentToChat(DIGEST_CHAT)).toEqual([]);
    expect(await digestOutboxRows()).toBe(0);
    expect(await digestRows()).toEqual([]);
  });

  it("answers a request in a group in private, with a pointer in the group", async () => {
    await say(viewer, "/digest", group);
    expect(sentToChat(viewer.id).map((message) => (message.photo ? "photo" : "text"))).toEqual([
      "photo",
      "text",
    ]);
    expect(sentToChat(group.id).map((message) => message.text)).toEqual([
      "I sent you the digest in a private chat.",
    ]);
  });

  it("tells an operator who has not opened a private chat how to", async () => {
    bed.fake.blockBot(viewer.id);
    await say(viewer, "/digest", group);
    expect(sentToChat(viewer.id)).toEqual([]);
    expect(sentToChat(group.id).map((message) => message.text)).toEqual([
      `I cannot write to you in private yet. Open a chat with @${bed.fake.botUser.username}, press Start, then send /digest again.`,
    ]);
  });

  it("is listed for every operator", async () => {
    expect(modules[0]?.botFeatures?.[0]?.commands).toEqual([
      { command: "digest", descriptionKey: "cmd-digest", role: "viewer" },
    ]);
  });
});
