import { describe, expect, it } from "vitest";
import {
  b,
  blockquote,
  code,
  DEFAULT_TRUNCATION_NOTE,
  escapeHtml,
  expandable,
  htmlToText,
  i,
  join,
  lines,
  link,
  type Part,
  pre,
  renderCaption,
  renderHtml,
  renderPlain,
  s,
  spoiler,
  TELEGRAM_CAPTION_LIMIT,
  TELEGRAM_TEXT_LIMIT,
  u,
  visibleLength,
} from "../../../src/bot/format/index.ts";
import { assertBalancedTags, hasLoneSurrogate } from "./helpers.ts";

const identity = (text: string) => text;
const fakeGithubToken = `ghp_${"16C7e42F292c6912E7710c838347Ae178B4a"}`;

describe("renderHtml: escaping", () => {
  it("shows labels with <&> literally: escaped in HTML, intact after parsing", () => {
    const labels = { alertname: "Disk<Full>", instance: "db&cache:9100", query: 'rate(x[5m]) > 0 && "y"' };
    const parts = lines(
      b("🔴 ", "Disk <almost> full & climbing"),
      ...Object.entries(labels).map(([k, v]) => [k, "=", code(v)]),
    );
    const { html, visibleLength: length, truncated } = renderHtml(parts);
    expect(html).toContain("<b>🔴 Disk &lt;almost&gt; full &amp; climbing</b>");
    expect(html).toContain("<code>Disk&lt;Full&gt;</code>");
    expect(html).toContain("<code>db&amp;cache:9100</code>");
    assertBalancedTags(html);
    const expected = [
      "🔴 Disk <almost> full & climbing",
      "alertname=Disk<Full>",
      "instance=db&cache:9100",
      'query=rate(x[5m]) > 0 && "y"',
    ].join("\n");
    expect(htmlToText(html)).toBe(expected);
    expect(length).toBe(expected.length);
    expect(visibleLength(html)).toBe(expected.length);
    expect(truncated).toBe(false);
  });

  it("renders every element of the Bot API subset", () => {
    const { html } = renderHtml(
      [
        b("b"),
        i("i"),
        u("u"),
        s("s"),
        spoiler("sp"),
        code("c"),
        pre("p"),
        pre("x = 1", "python"),
        link("https://example.com/?a=1&b=2", "link"),
        blockquote("q"),
        expandable("long quote"),
      ],
      { redact: identity },
    );
    expect(html).toBe(
      "<b>b</b><i>i</i><u>u</u><s>s</s><tg-spoiler>sp</tg-spoiler><code>c</code><pre>p</pre>" +
        '<pre><code class="language-python">x = 1</code></pre>' +
        '<a href="https://example.com/?a=1&amp;b=2">link</a>' +
        "<blockquote>q</blockquote><blockquote expandable>long quote</blockquote>",
    );
    assertBalancedTags(html);
  });

  it("keeps markup Telegram would reject out of the message", () => {
    const { html } = renderHtml(
      [
        link("javascript:alert(1)", "click"),
        link('https://x.example/"onmouseover="y', "quoted"),
        pre("code", 'js" onclick="x'),
        blockquote("outer ", blockquote("inner")),
        link("https://a.example", "a ", link("https://b.example", "b")),
        b(),
        i(null, false, undefined, ""),
      ],
      { redact: identity },
    );
    expect(html).toBe(
      'click<a href="https://x.example/&quot;onmouseover=&quot;y">quoted</a><pre>code</pre>' +
        '<blockquote>outer inner</blockquote><a href="https://a.example">a b</a>',
    );
    assertBalancedTags(html);
  });

  it("escapes the four characters Telegram decodes", () => {
    expect(escapeHtml(`<a href="x">&amp;</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;");
  });

  it("builds lists with lines and join, skipping absent parts", () => {
    const acknowledged: string | null = null;
    const { html } = renderHtml(
      lines("title", acknowledged && ["by ", acknowledged], "", join(", ", ["a", null, b("c"), 3])),
      { redact: identity },
    );
    expect(html).toBe("title\n\na, <b>c</b>, 3");
  });
});

describe("renderHtml: redaction", () => {
  it("removes secrets from text, code, pre and link targets by default", () => {
    const parts: Part[] = lines(
      ["token: ", fakeGithubToken],
      code(`export GITHUB_TOKEN=${fakeGithubToken}`),
      pre(JSON.stringify({ password: "hunter2", retries: 3 }, null, 2), "json"),
      link(`https://ops:s3cret@grafana.example/d/1`, "dashboard"),
      "token budget 80% used; commit 3f786850e387550fdab836ed7e6dc881de23001b",
    );
    const { html } = renderHtml(parts);
    for (const secret of [fakeGithubToken, "hunter2", "s3cret"]) expect(html).not.toContain(secret);
    expect(html).toContain("token budget 80% used; commit 3f786850e387550fdab836ed7e6dc881de23001b");
    expect(html).toContain('href="https://ops:[REDACTED]@grafana.example/d/1"');
    expect(renderPlain(parts).text).not.toContain(fakeGithubToken);
  });

  it("redacts before escaping, so a secret holding & < > is still caught whole", () => {
    const { html } = renderHtml(["PASSWORD=p&ss<w>rd!"]);
    expect(html).toBe("PASSWORD=[REDACTED]");
    expect(html).not.toContain("ss&lt;w");
    expect(html).not.toContain("p&amp;ss");
  });

  it("applies a caller's redactor", () => {
    const { html } = renderHtml(["a secret word"], { redact: (t) => t.replace("secret", "******") });
    expect(html).toBe("a ****** word");
  });
});

describe("renderHtml: length", () => {
  const labelList = (count: number): Part[] =>
    lines(...Array.from({ length: count }, (_, k) => [b(`label_${k}`), "=", code(`value<${k}>&more`)]));

  it("cuts a 10 000-character label list to 4096 visible characters with the note and balanced tags", () => {
    const parts = labelList(500);
    const full = renderPlain(parts, { maxLength: Number.MAX_SAFE_INTEGER }).text;
    expect(full.length).toBeGreaterThan(10_000);

    const { html, visibleLength: length, truncated } = renderHtml(parts);
    expect(truncated).toBe(true);
    expect(length).toBe(visibleLength(html));
    expect(length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(length).toBeGreaterThan(TELEGRAM_TEXT_LIMIT - 20);
    assertBalancedTags(html);
    expect(html.endsWith(DEFAULT_TRUNCATION_NOTE)).toBe(true);
    const shown = htmlToText(html);
    expect(full.startsWith(shown.slice(0, -DEFAULT_TRUNCATION_NOTE.length))).toBe(true);
    // The raw HTML is far longer than 4096: what counts is the text after parsing.
    expect(html.length).toBeGreaterThan(TELEGRAM_TEXT_LIMIT);
  });

  it("counts escaped characters once, like Telegram", () => {
    const text = "<&>".repeat(1365); // 4095 visible, 14 000+ characters of HTML
    const { html, visibleLength: length, truncated } = renderHtml([text], { redact: identity });
    expect(truncated).toBe(false);
    expect(length).toBe(4095);
    expect(html.length).toBeGreaterThan(14_000);
  });

  it("fits exactly at the limit without a note, and one more character cuts", () => {
    const exact = renderHtml([b("x".repeat(4096))], { redact: identity });
    expect(exact.truncated).toBe(false);
    expect(exact.html).toBe(`<b>${"x".repeat(4096)}</b>`);
    const over = renderHtml([b("x".repeat(4097))], { redact: identity });
    expect(over.truncated).toBe(true);
    expect(over.html).toBe(
      `<b>${"x".repeat(4096 - DEFAULT_TRUNCATION_NOTE.length)}</b>${DEFAULT_TRUNCATION_NOTE}`,
    );
  });

  it("counts code and pre content and cuts inside them, closing both tags", () => {
    const { html, visibleLength: length } = renderHtml(["args:\n", pre("y".repeat(5000), "json")], {
      redact: identity,
    });
    expect(length).toBe(TELEGRAM_TEXT_LIMIT);
    expect(html).toMatch(/^args:\n<pre><code class="language-json">y+<\/code><\/pre>… \(truncated\)$/);
  });

  it("never leaves an empty tag behind the cut", () => {
    const note = DEFAULT_TRUNCATION_NOTE;
    // The budget ends exactly before <b>: no tag is opened.
    const atBoundary = renderHtml(["x".repeat(20), b("bold and more text here")], {
      maxLength: 20 + note.length,
      redact: identity,
    });
    expect(atBoundary.html).toBe(`${"x".repeat(20)}${note}`);
    // One unit is left but the next character is an emoji (two units): the opened <b> is dropped.
    const emojiBoundary = renderHtml(["x".repeat(19), b(i("😀😀😀😀😀😀😀😀"))], {
      maxLength: 20 + note.length,
      redact: identity,
    });
    expect(emojiBoundary.html).toBe(`${"x".repeat(19)}${note}`);
    expect(emojiBoundary.visibleLength).toBe(19 + note.length);
  });

  it("keeps emoji whole at the cut boundary", () => {
    const family = "👨‍👩‍👧‍👦"; // 11 UTF-16 units, one grapheme
    const flag = "🇺🇦";
    for (let pad = 4070; pad <= 4083; pad++) {
      // The run as separate parts and as one string (cut inside a single text).
      for (const run of [b("😀", flag, family, "😀😀😀"), b(`😀${flag}${family}😀😀😀`)]) {
        const parts = ["x".repeat(pad), run];
        const { html, visibleLength: length, truncated } = renderHtml(parts, { redact: identity });
        const shown = htmlToText(html);
        expect(length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
        expect(hasLoneSurrogate(shown)).toBe(false);
        const kept = shown.slice(pad, truncated ? -DEFAULT_TRUNCATION_NOTE.length : undefined);
        // Whatever survives of the emoji run is a prefix made of whole emoji.
        const whole = [
          "",
          "😀",
          `😀${flag}`,
          `😀${flag}${family}`,
          `😀${flag}${family}😀`,
          `😀${flag}${family}😀😀`,
        ];
        expect(truncated ? whole : [`😀${flag}${family}😀😀😀`]).toContain(kept);
        assertBalancedTags(html);
      }
    }
  });

  it("limits captions to 1024", () => {
    const caption = renderCaption([b("Daily digest"), "\n", "z".repeat(2000)], { redact: identity });
    expect(caption.truncated).toBe(true);
    expect(caption.visibleLength).toBe(TELEGRAM_CAPTION_LIMIT);
    expect(visibleLength(caption.html)).toBe(TELEGRAM_CAPTION_LIMIT);
    expect(renderHtml(["z".repeat(2000)], { maxLength: 1024 }).visibleLength).toBe(1024);
  });

  it("uses a custom note, and cuts even the note when the limit is tiny", () => {
    expect(renderHtml(["abcdefghij"], { maxLength: 8, truncationNote: " [+]", redact: identity }).html).toBe(
      "abcd [+]",
    );
    expect(renderHtml([b("abcdefghij")], { maxLength: 5, redact: identity }).html).toBe("… (tr");
    expect(renderHtml(["abc"], { maxLength: 0, redact: identity }).html).toBe("");
  });
});

describe("renderPlain", () => {
  it("is the visible text of renderHtml, cut by the same rule", () => {
    const parts = lines(
      b("Approval <needed>"),
      ["tool ", code("exec_command")],
      pre("rm -rf /tmp/x && echo ok"),
    );
    for (const maxLength of [4096, 30, 12]) {
      const html = renderHtml(parts, { maxLength });
      const plain = renderPlain(parts, { maxLength });
      expect(plain.text).toBe(htmlToText(html.html));
      expect(plain.visibleLength).toBe(html.visibleLength);
      expect(plain.truncated).toBe(html.truncated);
      expect(plain.text.length).toBeLessThanOrEqual(maxLength);
    }
    expect(renderPlain(parts).text).toBe("Approval <needed>\ntool exec_command\nrm -rf /tmp/x && echo ok");
  });
});

describe("visibleLength", () => {
  it("measures Bot API HTML as Telegram does after parsing", () => {
    expect(visibleLength("<b>a&lt;b</b>")).toBe(3);
    expect(visibleLength('<a href="https://x/?a=1&amp;b=&quot;>&quot;">ab</a>')).toBe(2);
    expect(visibleLength("&#128512;&#x1F600;")).toBe(4); // two emoji, two UTF-16 units each
    expect(visibleLength("😀")).toBe(2);
    expect(visibleLength("AT&T &nbsp;")).toBe(11); // unsupported entities stay literal text
    expect(visibleLength('<pre><code class="language-ts">x</code></pre>')).toBe(1);
    expect(visibleLength("<blockquote expandable>q</blockquote>")).toBe(1);
  });
});
