export type { FormatNode, Part } from "./parts.ts";
export { b, blockquote, code, expandable, i, join, lines, link, pre, s, spoiler, u } from "./parts.ts";
export type { RenderedHtml, RenderedPlain, RenderOptions } from "./render.ts";
export {
  DEFAULT_TRUNCATION_NOTE,
  escapeHtml,
  htmlToText,
  renderCaption,
  renderHtml,
  renderPlain,
  TELEGRAM_CAPTION_LIMIT,
  TELEGRAM_TEXT_LIMIT,
  visibleLength,
} from "./render.ts";
