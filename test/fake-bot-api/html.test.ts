import { describe, expect, it } from "vitest";
import { findEntities, formatText, textLength } from "../../src/telegram-emulator/format.ts";
import { EntityParseError, parseHtml } from "../../src/telegram-emulator/html.ts";

function parseError(html: string): string {
  try {
    parseHtml(html);
  } catch (error) {
    if (error instanceof EntityParseError) return error.message;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(html)} to be refused`);
}

describe("parseHtml (tdlib's HTML parse mode)", () => {
  it("turns every supported tag into its entity, in tdlib's order", () => {
    const html =
      "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>" +
      '<tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code><a href="https://example.com">l</a>' +
      '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji><blockquote>bq</blockquote><blockquote expandable>x</blockquote>';
    const { text, entities } = parseHtml(html);
    expect(text).toBe("bsieunskdpqcl👍bqx");
    expect(entities.map((entity) => entity.type)).toEqual([
      "bold",
      "bold",
      "italic",
      "italic",
      "underline",
      "underline",
      "strikethrough",
      "strikethrough",
      "strikethrough",
      "spoiler",
      "spoiler",
      "code",
      "text_link",
      "custom_emoji",
      "blockquote",
      "expandable_blockquote",
    ]);
    expect(entities.find((entity) => entity.type === "text_link")?.url).toBe("https://example.com/");
    expect(entities.find((entity) => entity.type === "custom_emoji")).toMatchObject({
      offset: 13,
      length: 2,
      custom_emoji_id: "5368324170671202286",
    });
  });

  it("nests entities and orders them by offset, longer first", () => {
    const { text, entities } = parseHtml("<b>bold <i>both</i></b> <u>under</u>");
    expect(text).toBe("bold both under");
    expect(entities).toEqual([
      { type: "bold", offset: 0, length: 9 },
      { type: "italic", offset: 5, length: 4 },
      { type: "underline", offset: 10, length: 5 },
    ]);
  });

  it("makes pre>code with a language one pre entity, and drops a language on plain code", () => {
    expect(parseHtml('<pre><code class="language-python">print(1)</code></pre>').entities).toEqual([
      { type: "pre", offset: 0, length: 8, language: "python" },
    ]);
    expect(parseHtml('<code class="language-js">x</code>').entities).toEqual([
      { type: "code", offset: 0, length: 1 },
    ]);
    expect(parseHtml("<pre>x</pre>").entities).toEqual([{ type: "pre", offset: 0, length: 1 }]);
  });

  it("decodes the four named entities and numeric references, with or without ';'", () => {
    expect(parseHtml("&lt;b&gt; &amp; &quot;q&quot; &#65;&#x42; &#x1F600; &lt").text).toBe(
      '<b> & "q" AB 😀 <',
    );
  });

  it("keeps unknown entities and a bare '&' literally", () => {
    expect(parseHtml("AT&T &nbsp; &copy;").text).toBe("AT&T &nbsp; &copy;");
  });

  it("counts offsets in UTF-16 code units: an emoji is two", () => {
    const { text, entities } = parseHtml("😀 <b>ok</b> é<i>x</i>");
    expect(text).toBe("😀 ok éx");
    expect(entities).toEqual([
      { type: "bold", offset: 3, length: 2 },
      { type: "italic", offset: 7, length: 1 },
    ]);
  });

  it("accepts case-insensitive tags and the anonymous end tag", () => {
    expect(parseHtml("<B>x</B>").entities).toEqual([{ type: "bold", offset: 0, length: 1 }]);
    expect(parseHtml("<b>x</>").entities).toEqual([{ type: "bold", offset: 0, length: 1 }]);
  });

  it("accepts attributes without a value, as current tdlib does", () => {
    expect(parseHtml("<b x>y</b>").entities).toEqual([{ type: "bold", offset: 0, length: 1 }]);
  });

  it("drops empty entities", () => {
    expect(parseHtml("<b></b>x").entities).toEqual([]);
  });

  it("normalises links, links without href use their text, tg://user becomes a mention", () => {
    expect(parseHtml("<a href=example.com>x</a>").entities[0]?.url).toBe("http://example.com/");
    expect(parseHtml("<a>https://example.org/p</a>").entities[0]).toMatchObject({
      type: "text_link",
      url: "https://example.org/p",
    });
    expect(parseHtml('<a href="tg://user?id=42">u</a>').entities[0]).toMatchObject({
      type: "text_mention",
      user: { id: 42 },
    });
    // A host without a dot is not a link: Telegram keeps the text and drops the entity.
    expect(parseHtml('<a href="http://intranet">x</a>').entities).toEqual([]);
  });

  it("refuses what Telegram refuses, with its wording and byte offsets", () => {
    expect(parseError("a < b")).toBe('Unsupported start tag "" at byte offset 2');
    expect(parseError("1 <2 and 3>")).toBe('Unsupported start tag "2" at byte offset 2');
    expect(parseError("x <")).toBe("Unclosed start tag at byte offset 2");
    expect(parseError("<b>bold")).toBe('Can\'t find end tag corresponding to start tag "b"');
    expect(parseError("<b><i>x</b></i>")).toBe(
      'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
    );
    expect(parseError("x</b>")).toBe("Unexpected end tag at byte offset 1");
    expect(parseError("<foo>x</foo>")).toBe('Unsupported start tag "foo" at byte offset 0');
    expect(parseError("<</b>")).toBe('Unsupported start tag "</b" at byte offset 0');
    expect(parseError("<span>x</span>")).toBe('Tag "span" must have class "tg-spoiler" at byte offset 0');
    expect(parseError("<b x")).toBe('Unclosed start tag "b" at byte offset 0');
  });

  it("reports byte offsets of the UTF-8 encoding, not character positions", () => {
    // "é" is two bytes and "😀" four: the '<' sits at byte 7, character 4.
    expect(parseError("é😀 <x>")).toBe('Unsupported start tag "x" at byte offset 7');
    expect(parseError("привет <b>")).toBe('Can\'t find end tag corresponding to start tag "b"');
    expect(parseError("привет </b>")).toBe("Unexpected end tag at byte offset 13");
  });

  it("refuses malformed attributes and lone surrogates", () => {
    expect(parseError("<a href=http://x>y</a>")).toBe("Unexpected end of name token at byte offset 8");
    expect(parseError('<a href="x>y</a>')).toBe("Unclosed start tag at byte offset 0");
    expect(parseError('<a ="x">y</a>')).toBe('Empty attribute name in the tag "a" at byte offset 0');
    expect(parseError('<tg-emoji emoji-id="abc">x</tg-emoji>')).toBe(
      "Invalid custom emoji identifier specified",
    );
    expect(parseError("&#xD83D;")).toContain("unmatched surrogate code units");
  });
});

describe("formatText (what Telegram stores)", () => {
  const format = (text: string, parseMode?: string) =>
    formatText(text, parseMode, undefined, { allowEmpty: false });

  it("trims spaces and newlines, drops \\r and turns control characters into spaces", () => {
    expect(format("  \n hello\r\nworld\t! \n\n").text).toBe("hello\nworld !");
  });

  it("keeps leading spaces that an entity covers", () => {
    expect(format("<code>  x</code>", "HTML")).toEqual({
      text: "  x",
      entities: [{ type: "code", offset: 0, length: 3 }],
    });
  });

  it("adds Telegram's automatic entities, but never inside code or links", () => {
    const { entities } = format(
      "/start@pitwall_bot hi @operator #deploy see https://example.com/x.",
      undefined,
    );
    expect(entities).toEqual([
      { type: "bot_command", offset: 0, length: 18 },
      { type: "mention", offset: 22, length: 9 },
      { type: "hashtag", offset: 32, length: 7 },
      { type: "url", offset: 44, length: 21 },
    ]);
    expect(format("<code>/start @operator</code>", "HTML").entities).toEqual([
      { type: "code", offset: 0, length: 16 },
    ]);
  });

  it("refuses an empty result and an unknown parse_mode", () => {
    expect(() => format("<b> </b>\n", "HTML")).toThrow("Bad Request: text must be non-empty");
    expect(() => format("x", "Textile")).toThrow("Bad Request: unsupported parse_mode");
    expect(() => format("<b>x", "HTML")).toThrow(
      "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    );
  });

  it("accepts explicit entities instead of a parse_mode and checks their bounds", () => {
    expect(
      formatText("hello", undefined, [{ type: "bold", offset: 0, length: 5 }], { allowEmpty: false }),
    ).toEqual({
      text: "hello",
      entities: [{ type: "bold", offset: 0, length: 5 }],
    });
    expect(() =>
      formatText("hi", undefined, [{ type: "bold", offset: 1, length: 5 }], { allowEmpty: false }),
    ).toThrow(
      "Bad Request: entity beginning at UTF-16 offset 1 ends after the end of the text at UTF-16 offset 6",
    );
  });
});

describe("textLength", () => {
  it("counts code points by default and UTF-16 units on request", () => {
    expect(textLength("a😀é", "codepoint")).toBe(3);
    expect(textLength("a😀é", "utf16")).toBe(4);
  });
});

describe("findEntities", () => {
  it("applies Telegram's boundaries", () => {
    expect(findEntities("mail me@example.com")).toEqual([]);
    expect(findEntities("@ab @gif @abcd")).toEqual([
      { type: "mention", offset: 4, length: 4 },
      { type: "mention", offset: 9, length: 5 },
    ]);
    expect(findEntities("a/b /cmd/x /ok")).toEqual([{ type: "bot_command", offset: 11, length: 3 }]);
    expect(findEntities("#1 #a1 x#y")).toEqual([{ type: "hashtag", offset: 3, length: 3 }]);
  });
});
