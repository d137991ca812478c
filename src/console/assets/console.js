// pitwall console: a Telegram-like client of the local Bot API emulator. It renders messages from
// their visible text and entities (never from the bot's HTML) with DOM nodes and textContent only,
// so nothing in a message is ever interpreted as markup.

const state = {
  /** @type {{id:number,username:string,name:string}|null} */
  bot: null,
  operators: [],
  chats: [],
  /** chatId -> Map(messageId -> message) */
  messages: new Map(),
  /** chatId -> unread count */
  unread: new Map(),
  loudUnread: new Set(),
  operatorId: null,
  /** Active tab: "alerts" | "approvals" | "digest" | "direct" */
  tab: "alerts",
  replyTo: null,
  /** callback query id -> answer that arrived before the press request returned */
  earlyAnswers: new Map(),
  /** callback query id -> button element waiting for its answer */
  pendingPresses: new Map(),
  connected: false,
};

const $ = (id) => document.getElementById(id);
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

const TAB_ORDER = ["alerts", "approvals", "digest", "direct"];
const TAB_LABEL = { alerts: "Alerts", approvals: "Approvals", digest: "Digest", direct: "pitwall" };
const TAB_ICON = { alerts: "!", approvals: "✓", digest: "≡", direct: "P" };

// ---- chats and operators --------------------------------------------------------------------

/** The chat behind a tab: a group chat, or the acting operator's private chat with the bot. */
function chatOfTab(tab) {
  if (tab === "direct")
    return state.chats.find((chat) => chat.name === "direct" && chat.operatorId === state.operatorId);
  return state.chats.find((chat) => chat.name === tab);
}

function tabOfChat(chatId) {
  const chat = state.chats.find((c) => c.id === chatId);
  if (!chat) return undefined;
  if (chat.name === "direct") return chat.operatorId === state.operatorId ? "direct" : undefined;
  return chat.name;
}

function messagesOf(chatId) {
  let map = state.messages.get(chatId);
  if (!map) {
    map = new Map();
    state.messages.set(chatId, map);
  }
  return map;
}

// ---- entity rendering ---------------------------------------------------------------------------

const SAFE_LINK = /^(https?:|mailto:|tg:)/i;

/**
 * Builds DOM nodes for `text` with Bot API entities (UTF-16 offsets, which are JavaScript string
 * indexes). Entities are nested by offset; one that overlaps its parent's end is split in two.
 */
function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  const list = (entities ?? [])
    .filter((e) => Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0)
    .map((e, index) => ({ ...e, end: Math.min(e.offset + e.length, text.length), index }))
    .filter((e) => e.offset < e.end);
  build(fragment, text, 0, text.length, list);
  return fragment;
}

function byPosition(a, b) {
  return a.offset - b.offset || b.end - a.end || a.index - b.index;
}

function build(parent, text, start, end, entities) {
  let queue = [...entities].sort(byPosition);
  let position = start;
  while (queue.length > 0) {
    const entity = queue.shift();
    if (entity.offset < position) {
      // Already covered by an earlier sibling: keep only the part after it.
      if (entity.end > position) queue = [{ ...entity, offset: position }, ...queue].sort(byPosition);
      continue;
    }
    if (entity.offset > position)
      parent.appendChild(document.createTextNode(text.slice(position, entity.offset)));
    const children = [];
    const rest = [];
    for (const other of queue) {
      if (other.offset >= entity.end) rest.push(other);
      else if (other.end <= entity.end) children.push(other);
      else {
        children.push({ ...other, end: entity.end });
        rest.push({ ...other, offset: entity.end });
      }
    }
    const node = entityNode(entity, text.slice(entity.offset, entity.end));
    build(node.inner, text, entity.offset, entity.end, children);
    parent.appendChild(node.outer);
    position = entity.end;
    queue = rest.sort(byPosition);
  }
  if (position < end) parent.appendChild(document.createTextNode(text.slice(position, end)));
}

function link(href) {
  const a = el("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function entityNode(entity, content) {
  const same = (node) => ({ outer: node, inner: node });
  switch (entity.type) {
    case "bold":
      return same(el("strong"));
    case "italic":
      return same(el("em"));
    case "underline":
      return same(el("u"));
    case "strikethrough":
      return same(el("s"));
    case "spoiler": {
      const node = el("span", "spoiler");
      node.title = "Click to reveal";
      node.addEventListener("click", () => node.classList.add("revealed"));
      return same(node);
    }
    case "code":
      return same(el("code"));
    case "pre": {
      const pre = el("pre");
      const code = el("code");
      if (entity.language) code.dataset.language = entity.language;
      pre.appendChild(code);
      return { outer: pre, inner: code };
    }
    case "blockquote":
      return same(el("blockquote"));
    case "expandable_blockquote": {
      const node = el("blockquote", "collapsed");
      node.title = "Click to expand";
      node.addEventListener("click", () => node.classList.remove("collapsed"));
      return same(node);
    }
    case "text_link":
      return same(
        typeof entity.url === "string" && SAFE_LINK.test(entity.url) ? link(entity.url) : el("span"),
      );
    case "url": {
      const href = /^https?:\/\//i.test(content) ? content : `https://${content}`;
      return same(link(href));
    }
    case "email":
      return same(link(`mailto:${content}`));
    case "bot_command": {
      const a = el("a", "command");
      a.href = "#";
      a.addEventListener("click", (event) => {
        event.preventDefault();
        void sendText(content);
      });
      return same(a);
    }
    case "mention":
    case "text_mention":
      return same(el("span", "mention"));
    case "hashtag":
    case "cashtag":
      return same(el("span", "hashtag"));
    case "date_time": {
      const node = el("span", "date-time");
      if (Number.isInteger(entity.unix_time)) node.title = new Date(entity.unix_time * 1000).toLocaleString();
      return same(node);
    }
    default:
      return same(el("span"));
  }
}

// ---- messages -------------------------------------------------------------------------------------

function clock(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayLabel(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleDateString([], {
    day: "numeric",
    month: "long",
    year: "numeric",
  });
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function previewText(message) {
  if (message.text) return message.text.split("\n", 1)[0];
  if (message.photo) return "Photo";
  if (message.document) return message.document.name ?? "Document";
  return "";
}

function renderMessage(message) {
  // As in the acting operator's Telegram: their own messages on the right, everyone else's
  // (the bot's, the other operators') on the left, named in group chats.
  const mine = !message.outgoing && message.from.id === state.operatorId;
  const root = el("div", `message ${mine ? "out" : "in"}`);
  root.dataset.id = String(message.id);
  root.dataset.chat = String(message.chatId);
  const bubble = el("div", "bubble");
  const chat = state.chats.find((c) => c.id === message.chatId);
  if (!mine && chat && chat.name !== "direct") bubble.appendChild(el("div", "sender", message.from.name));

  if (message.replyTo !== undefined) {
    const replied = messagesOf(message.chatId).get(message.replyTo);
    if (replied) {
      const quote = el("div", "quote");
      quote.appendChild(el("div", "quote-name", replied.from.name));
      quote.appendChild(el("div", "quote-text", previewText(replied)));
      bubble.appendChild(quote);
    }
  }

  if (message.photo) {
    if (message.photo.href.startsWith("/console/")) {
      const img = el("img", "photo");
      img.src = message.photo.href;
      img.alt = message.text || "photo";
      if (message.photo.width && message.photo.height) {
        img.width = message.photo.width;
        img.height = message.photo.height;
      }
      bubble.appendChild(img);
    } else {
      const a = link(message.photo.href);
      a.textContent = "Photo (opens in a new tab)";
      bubble.appendChild(a);
    }
  }
  if (message.document) {
    const a = message.document.href.startsWith("/console/") ? el("a") : link(message.document.href);
    a.className = "document";
    a.href = message.document.href;
    if (message.document.href.startsWith("/console/")) a.download = message.document.name ?? "document";
    a.appendChild(el("span", "document-icon", "⤓"));
    const info = el("span", "document-info");
    info.appendChild(el("div", "document-name", message.document.name ?? "document"));
    info.appendChild(el("div", "document-size", formatSize(message.document.size)));
    a.appendChild(info);
    bubble.appendChild(a);
  }

  const text = el("div", "text");
  text.appendChild(renderText(message.text, message.entities));
  const meta = el("span", "meta");
  const parts = [];
  if (message.editDate !== undefined) parts.push("edited");
  if (message.silent && message.outgoing) parts.push("🔕");
  parts.push(clock(message.date));
  meta.textContent = parts.join(" ");
  if (message.editDate !== undefined) meta.title = `edited at ${clock(message.editDate)}`;
  if (message.silent && message.outgoing) meta.title = `${meta.title ? `${meta.title}; ` : ""}sent silently`;
  text.appendChild(meta);
  bubble.appendChild(text);
  root.appendChild(bubble);

  if (message.keyboard && message.keyboard.length > 0) {
    const keyboard = el("div", "keyboard");
    for (const row of message.keyboard) {
      const rowNode = el("div", "kb-row");
      for (const button of row) {
        if (button.url) {
          const a = link(button.url);
          a.className = "kb-button";
          a.textContent = `${button.text} ↗`;
          rowNode.appendChild(a);
        } else {
          const b = el("button", "kb-button", button.text);
          b.type = "button";
          if (button.data !== undefined) {
            b.addEventListener("click", () => void press(message, button.data, b));
          } else b.disabled = true;
          rowNode.appendChild(b);
        }
      }
      keyboard.appendChild(rowNode);
    }
    root.appendChild(keyboard);
  }

  const actions = el("div", "message-actions");
  const reply = el("button", "icon-button", "↩");
  reply.type = "button";
  reply.title = "Reply";
  reply.setAttribute("aria-label", "Reply");
  reply.addEventListener("click", () => setReply(message));
  actions.appendChild(reply);
  root.appendChild(actions);
  return root;
}

function renderMessages() {
  const container = $("messages");
  const chat = chatOfTab(state.tab);
  for (const node of [...container.querySelectorAll(".message, .day")]) node.remove();
  const list = chat ? [...messagesOf(chat.id).values()].sort((a, b) => a.id - b.id) : [];
  $("empty").hidden = list.length > 0;
  let lastDay = "";
  for (const message of list) {
    const day = dayLabel(message.date);
    if (day !== lastDay) {
      container.appendChild(el("div", "day", day));
      lastDay = day;
    }
    container.appendChild(renderMessage(message));
  }
  container.scrollTop = container.scrollHeight;
}

/** Puts a new or edited message in place without redrawing the chat. */
function showMessage(message, isNew) {
  const chat = chatOfTab(state.tab);
  if (!chat || chat.id !== message.chatId) return;
  const container = $("messages");
  const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 120;
  const existing = container.querySelector(`.message[data-id="${message.id}"]`);
  if (message.deleted) {
    existing?.remove();
    $("empty").hidden = messagesOf(chat.id).size > 0;
    return;
  }
  const node = renderMessage(message);
  if (existing) {
    existing.replaceWith(node);
    node.classList.add("flash");
  } else {
    const lastDay = [...container.querySelectorAll(".day")].at(-1)?.textContent;
    const day = dayLabel(message.date);
    if (day !== lastDay) container.appendChild(el("div", "day", day));
    const later = [...container.querySelectorAll(".message")].find((n) => Number(n.dataset.id) > message.id);
    if (later) container.insertBefore(node, later);
    else container.appendChild(node);
  }
  $("empty").hidden = true;
  if (isNew && (nearBottom || !message.outgoing)) container.scrollTop = container.scrollHeight;
}

// ---- tabs ---------------------------------------------------------------------------------------------

function renderTabs() {
  const list = $("chat-list");
  list.replaceChildren();
  for (const tab of TAB_ORDER) {
    const chat = chatOfTab(tab);
    if (!chat) continue;
    const button = el("button", "chat-tab");
    button.type = "button";
    button.setAttribute("role", "tab");
    button.dataset.chat = tab;
    button.setAttribute("aria-selected", String(tab === state.tab));
    button.appendChild(el("div", `avatar ${tab}`, TAB_ICON[tab]));
    button.appendChild(
      el("div", "chat-tab-title", tab === "direct" ? `${TAB_LABEL.direct} (bot)` : TAB_LABEL[tab]),
    );
    const count = state.unread.get(chat.id) ?? 0;
    const badge = el("div", `unread${state.loudUnread.has(chat.id) ? " loud" : ""}`, String(count));
    badge.hidden = count === 0;
    button.appendChild(badge);
    const last = [...messagesOf(chat.id).values()]
      .filter((m) => !m.deleted)
      .sort((a, b) => a.id - b.id)
      .at(-1);
    button.appendChild(el("div", "chat-tab-preview", last ? previewText(last) : chat.title));
    button.addEventListener("click", () => selectTab(tab));
    list.appendChild(button);
  }
}

function renderHeader() {
  const chat = chatOfTab(state.tab);
  $("chat-avatar").className = `avatar ${state.tab}`;
  $("chat-avatar").textContent = TAB_ICON[state.tab];
  $("chat-title").textContent = chat ? chat.title : "pitwall";
  $("chat-subtitle").textContent =
    state.tab === "direct"
      ? `bot · @${state.bot?.username ?? "pitwall"}`
      : `${state.operators.length} operators and @${state.bot?.username ?? "pitwall"}`;
}

function selectTab(tab) {
  state.tab = tab;
  const chat = chatOfTab(tab);
  if (chat) {
    state.unread.delete(chat.id);
    state.loudUnread.delete(chat.id);
  }
  clearReply();
  sessionStorage.setItem("pitwall.tab", tab);
  renderTabs();
  renderHeader();
  renderMessages();
  $("composer-input").focus();
}

// ---- acting operator ----------------------------------------------------------------------------

function renderOperators() {
  const select = $("operator");
  select.replaceChildren();
  for (const op of state.operators) {
    const option = el("option", "", op.name);
    option.value = String(op.id);
    option.selected = op.id === state.operatorId;
    select.appendChild(option);
  }
}

$("operator").addEventListener("change", (event) => {
  state.operatorId = Number(event.target.value);
  sessionStorage.setItem("pitwall.operator", String(state.operatorId));
  closeCommands();
  renderTabs();
  renderHeader();
  renderMessages();
});

// ---- sending ---------------------------------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(payload.message ?? `HTTP ${response.status}`);
  return payload;
}

async function sendText(text) {
  const chat = chatOfTab(state.tab);
  if (!chat || text.trim() === "") return;
  const body = { chatId: chat.id, operatorId: state.operatorId, text };
  const replyTo = state.replyTo;
  if (replyTo !== null) body.replyTo = replyTo.id;
  try {
    await post("/console/api/messages", body);
    // Only the reply just sent: the bot may already have asked for a new one (ForceReply).
    if (state.replyTo === replyTo && replyTo !== null) clearReply();
  } catch (error) {
    showToast(`Not sent: ${error.message}`);
    throw error;
  }
}

async function press(message, data, button) {
  if (button.classList.contains("pending")) return;
  button.classList.add("pending");
  try {
    const { callbackQueryId } = await post("/console/api/callbacks", {
      chatId: message.chatId,
      messageId: message.id,
      operatorId: state.operatorId,
      data,
    });
    const early = state.earlyAnswers.get(callbackQueryId);
    if (early) {
      state.earlyAnswers.delete(callbackQueryId);
      button.classList.remove("pending");
      showAnswer(early);
      return;
    }
    state.pendingPresses.set(callbackQueryId, button);
    // Telegram stops the spinner after a while even when the bot never answers.
    setTimeout(() => {
      if (state.pendingPresses.get(callbackQueryId) === button) {
        state.pendingPresses.delete(callbackQueryId);
        button.classList.remove("pending");
      }
    }, 15_000);
  } catch (error) {
    button.classList.remove("pending");
    showToast(error.message);
  }
}

function showAnswer(answer) {
  if (!answer.text) return;
  if (answer.showAlert) {
    $("alert-text").textContent = answer.text;
    $("alert").hidden = false;
    $("alert-ok").focus();
  } else showToast(answer.text);
}

let toastTimer;
function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    toast.hidden = true;
  }, 3500);
}

$("alert-ok").addEventListener("click", () => {
  $("alert").hidden = true;
});

const input = $("composer-input");

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  if (text.trim() === "") return;
  input.value = "";
  autosize();
  closeCommands();
  sendText(text).catch(() => {
    if (input.value === "") input.value = text;
  });
});

input.addEventListener("keydown", (event) => {
  const menu = $("commands-menu");
  if (!menu.hidden && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    moveCommandSelection(event.key === "ArrowDown" ? 1 : -1);
    return;
  }
  if (!menu.hidden && event.key === "Tab") {
    event.preventDefault();
    const selected = menu.querySelector(".command-item.selected") ?? menu.querySelector(".command-item");
    if (selected) input.value = `${selected.dataset.command} `;
    closeCommands();
    return;
  }
  if (event.key === "Escape") {
    closeCommands();
    clearReply();
    return;
  }
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    const selected = menu.hidden ? null : menu.querySelector(".command-item.selected");
    if (selected) input.value = selected.dataset.command;
    $("composer").requestSubmit();
  }
});

function autosize() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

input.addEventListener("input", () => {
  autosize();
  const value = input.value;
  if (/^\/\w*$/.test(value)) void openCommands(value.slice(1));
  else closeCommands();
});

// ---- reply ------------------------------------------------------------------------------------------

function setReply(message) {
  state.replyTo = message;
  $("reply-name").textContent = message.from.name;
  $("reply-text").textContent = previewText(message);
  $("reply-bar").hidden = false;
  input.focus();
}

function clearReply() {
  state.replyTo = null;
  $("reply-bar").hidden = true;
}

$("reply-cancel").addEventListener("click", clearReply);

// ---- command menu ------------------------------------------------------------------------------

let commandsCache = { operatorId: null, at: 0, list: [] };

async function loadCommands() {
  if (commandsCache.operatorId === state.operatorId && Date.now() - commandsCache.at < 10_000)
    return commandsCache.list;
  const response = await fetch(`/console/api/commands?operatorId=${encodeURIComponent(state.operatorId)}`);
  const payload = await response.json().catch(() => ({ commands: [] }));
  commandsCache = { operatorId: state.operatorId, at: Date.now(), list: payload.commands ?? [] };
  return commandsCache.list;
}

async function openCommands(prefix = "") {
  const commands = (await loadCommands()).filter((c) => c.command.startsWith(prefix.toLowerCase()));
  const menu = $("commands-menu");
  menu.replaceChildren();
  if (commands.length === 0) {
    menu.hidden = true;
    return;
  }
  for (const command of commands) {
    const item = el("button", "command-item");
    item.type = "button";
    item.setAttribute("role", "menuitem");
    item.dataset.command = `/${command.command}`;
    item.appendChild(el("span", "command-name", `/${command.command}`));
    item.appendChild(el("span", "command-description", command.description));
    item.addEventListener("click", () => {
      closeCommands();
      input.value = "";
      void sendText(`/${command.command}`);
    });
    menu.appendChild(item);
  }
  menu.hidden = false;
}

function moveCommandSelection(step) {
  const items = [...$("commands-menu").querySelectorAll(".command-item")];
  if (items.length === 0) return;
  const current = items.findIndex((item) => item.classList.contains("selected"));
  const next = (current + step + items.length) % items.length;
  for (const item of items) item.classList.remove("selected");
  items[next].classList.add("selected");
  items[next].scrollIntoView({ block: "nearest" });
}

function closeCommands() {
  $("commands-menu").hidden = true;
}

$("commands-button").addEventListener("click", () => {
  if ($("commands-menu").hidden) void openCommands("");
  else closeCommands();
});

document.addEventListener("click", (event) => {
  if (!event.target.closest("#commands-menu, #commands-button")) closeCommands();
});

// ---- live stream ---------------------------------------------------------------------------------

function setConnection(connected) {
  state.connected = connected;
  const badge = $("connection");
  badge.textContent = connected ? "connected" : "reconnecting…";
  badge.classList.toggle("ok", connected);
}

function onSnapshot(snapshot) {
  state.bot = snapshot.bot;
  state.operators = snapshot.operators;
  state.chats = snapshot.chats;
  state.messages = new Map();
  for (const message of snapshot.messages) messagesOf(message.chatId).set(message.id, message);
  const savedOperator = Number(sessionStorage.getItem("pitwall.operator"));
  if (state.operatorId === null) {
    state.operatorId = state.operators.some((op) => op.id === savedOperator)
      ? savedOperator
      : state.operators[0]?.id;
  }
  const savedTab = sessionStorage.getItem("pitwall.tab");
  if (TAB_ORDER.includes(savedTab) && !document.body.dataset.ready) state.tab = savedTab;
  $("demo-badge").hidden = !snapshot.demo;
  renderOperators();
  renderTabs();
  renderHeader();
  renderMessages();
  document.body.dataset.ready = "true";
}

function onMessage(message) {
  const map = messagesOf(message.chatId);
  const isNew = !map.has(message.id);
  if (message.deleted) map.delete(message.id);
  else map.set(message.id, message);
  const tab = tabOfChat(message.chatId);
  const visible = tab !== undefined && tab === state.tab && document.visibilityState !== "hidden";
  if (isNew && !message.deleted && !visible && message.outgoing) {
    state.unread.set(message.chatId, (state.unread.get(message.chatId) ?? 0) + 1);
    if (!message.silent) state.loudUnread.add(message.chatId);
  }
  showMessage(message, isNew);
  // The bot asks for an answer (ForceReply): reply to it, as a Telegram client does.
  if (isNew && message.forceReply && tab === state.tab) setReply(message);
  renderTabs();
}

function onAnswer(answer) {
  const button = state.pendingPresses.get(answer.callbackQueryId);
  if (button) {
    state.pendingPresses.delete(answer.callbackQueryId);
    button.classList.remove("pending");
    showAnswer(answer);
  } else {
    state.earlyAnswers.set(answer.callbackQueryId, answer);
    setTimeout(() => state.earlyAnswers.delete(answer.callbackQueryId), 30_000);
  }
}

function connect() {
  const source = new EventSource("/console/events");
  source.addEventListener("open", () => setConnection(true));
  source.addEventListener("error", () => setConnection(false));
  source.addEventListener("snapshot", (event) => onSnapshot(JSON.parse(event.data)));
  source.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
  source.addEventListener("answer", (event) => onAnswer(JSON.parse(event.data)));
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    const chat = chatOfTab(state.tab);
    if (chat) {
      state.unread.delete(chat.id);
      state.loudUnread.delete(chat.id);
      renderTabs();
    }
  }
});

connect();
