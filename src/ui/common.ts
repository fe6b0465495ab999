// Shared by both views: the connection to the host (theme, host styles), tool calls through
// the host, covers, and the message line.
import {
  App,
  applyDocumentTheme,
  applyHostFonts,
  applyHostStyleVariables,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps";

export type ToolResult = {
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

/// What a call gave: the structured output, or the text to show when it failed.
export type Outcome = { ok: true; data: Record<string, unknown>; text: string } | { ok: false; text: string };

export function textOf(result: ToolResult): string {
  return (result.content ?? [])
    .filter((c) => c.type === "text" && typeof c.text === "string")
    .map((c) => c.text)
    .join("\n")
    .trim();
}

export function outcome(result: ToolResult): Outcome {
  const text = textOf(result);
  if (result.isError) return { ok: false, text: text || "The tool reported an error without a message." };
  const data = result.structuredContent;
  if (!data || typeof data !== "object") {
    return { ok: false, text: text || "The tool returned no data to show." };
  }
  return { ok: true, data, text };
}

function applyContext(ctx: McpUiHostContext | undefined): void {
  if (!ctx) return;
  if (ctx.theme === "light" || ctx.theme === "dark") applyDocumentTheme(ctx.theme);
  if (ctx.styles?.variables) applyHostStyleVariables(ctx.styles.variables);
  if (ctx.styles?.css?.fonts) applyHostFonts(ctx.styles.css.fonts);
  const inset = ctx.safeAreaInsets;
  if (inset) {
    const s = document.body.style;
    s.paddingTop = `${inset.top}px`;
    s.paddingRight = `${inset.right}px`;
    s.paddingBottom = `${inset.bottom}px`;
    s.paddingLeft = `${inset.left}px`;
  }
}

/// Connects to the host; `onResult` gets the result of the tool that opened the view.
/// Handlers are set before `connect` because the SDK refuses them afterwards.
export function start(name: string, onResult: (r: ToolResult) => void): App {
  const app = new App({ name, version: "1.0.0" });
  app.ontoolresult = (r) => onResult(r as ToolResult);
  app.ontoolcancelled = () => say("The request was cancelled.", true);
  app.onhostcontextchanged = (ctx) => applyContext(ctx);
  app.connect().then(
    () => applyContext(app.getHostContext()),
    (e) => say(`Could not connect to the host: ${message(e)}`, true),
  );
  return app;
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/// A tool call through the host; a thrown error (host refused, network) becomes a failure.
export async function call(app: App, name: string, args: Record<string, unknown>): Promise<Outcome> {
  try {
    return outcome((await app.callServerTool({ name, arguments: args })) as ToolResult);
  } catch (e) {
    return { ok: false, text: `${name} failed: ${message(e)}` };
  }
}

export function say(text: string, error = false): void {
  const line = document.getElementById("status");
  if (!line) return;
  line.textContent = text;
  line.className = error ? "status error" : "status";
  // One live region that stays put (changing its role is not announced reliably);
  // failures interrupt, news waits its turn.
  line.setAttribute("aria-live", error ? "assertive" : "polite");
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string> = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

/// Spotify's image hosts, the only ones the resource's CSP allows (src/tools/ui.rs,
/// IMAGE_ORIGINS); an image from anywhere else would be blocked, so it counts as none.
const IMAGE_ORIGINS = [
  "https://i.scdn.co/",
  "https://mosaic.scdn.co/",
  "https://image-cdn-ak.spotifycdn.com/",
  "https://image-cdn-fa.spotifycdn.com/",
];

function firstUrl(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) {
    for (const x of v) {
      const u = firstUrl(x);
      if (u) return u;
    }
  } else if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return firstUrl(o.url) ?? firstUrl(o.images);
  }
  return undefined;
}

/// Compact items may carry `image` (a URL), `images` (Spotify's list), or an album's.
export function imageOf(item: Record<string, unknown> | null | undefined): string | undefined {
  if (!item) return undefined;
  const album = item.album && typeof item.album === "object" ? item.album : undefined;
  const url = firstUrl(item.image) ?? firstUrl(item.image_url) ?? firstUrl(item.images) ?? firstUrl(album);
  return url && IMAGE_ORIGINS.some((o) => url.startsWith(o)) ? url : undefined;
}

/// A cover, or a neutral tile when there is none or it fails to load. Decorative (the
/// title sits next to it), hence the empty alt.
export function cover(url: string | undefined, size: "small" | "large"): HTMLElement {
  const tile = el("div", { class: `cover ${size}`, "aria-hidden": "true" });
  if (url) {
    const img = el("img", { src: url, alt: "", loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" });
    img.addEventListener("error", () => img.remove());
    tile.append(img);
  }
  return tile;
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

export function artistsOf(v: unknown): string {
  if (!Array.isArray(v)) return str(v);
  return v
    .map((a) => (typeof a === "string" ? a : str((a as Record<string, unknown>)?.name)))
    .filter(Boolean)
    .join(", ");
}

export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/// Icons are inline SVG paths (no fonts or files to fetch); always aria-hidden, the button
/// carries the label.
const ICONS: Record<string, string> = {
  play: "M8 5v14l11-7z",
  pause: "M6 5h4v14H6zm8 0h4v14h-4z",
  next: "M6 6l8.5 6L6 18zM16 6h2v12h-2z",
  previous: "M6 6h2v12H6zm3.5 6L18 18V6z",
  queue: "M3 6h12v2H3zm0 4h12v2H3zm0 4h8v2H3zm13 0v-3h2v3h3v2h-3v3h-2v-3h-3v-2z",
  refresh:
    "M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.75 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4z",
  volume: "M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z",
};

export function icon(name: keyof typeof ICONS): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export function iconButton(name: keyof typeof ICONS, label: string, cls = "icon"): HTMLButtonElement {
  const b = el("button", { type: "button", class: cls, "aria-label": label, title: label });
  b.append(icon(name));
  return b;
}

/// Runs `work` with `buttons` disabled, so a double click does not send two commands.
/// Work usually re-renders, which replaces the focused button: focus goes back to the
/// button with the same `data-key`, so keyboard users stay where they were.
export async function busy<T>(buttons: HTMLButtonElement[], work: () => Promise<T>): Promise<T> {
  const key = document.activeElement?.getAttribute("data-key");
  for (const b of buttons) b.disabled = true;
  document.body.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    for (const b of buttons) b.disabled = false;
    document.body.removeAttribute("aria-busy");
    const active = document.activeElement;
    if (key && (!active || active === document.body)) {
      document.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
    }
  }
}
