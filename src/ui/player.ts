// The now-playing card for `get_playback_state`: cover, title, artists, progress, device,
// previous / play-pause / next, and volume when the device takes it.
import {
  artistsOf,
  busy,
  call,
  clock,
  cover,
  el,
  icon,
  iconButton,
  imageOf,
  outcome,
  say,
  start,
  str,
  type ToolResult,
} from "./common";

type Track = Record<string, unknown>;
type Device = { name?: string; type?: string; volume_percent?: number | null; supports_volume?: boolean };
type State = {
  is_playing?: boolean;
  track?: Track | null;
  device?: Device | null;
  progress_ms?: number;
};

const root = document.getElementById("app") as HTMLElement;
let state: State | undefined;
/// When `state.progress_ms` was true, so the progress can move between refreshes.
let stateAt = 0;
let ticker: number | undefined;
const SETTLE_MS = 350;

function show(result: ToolResult): void {
  const o = outcome(result);
  if (!o.ok) {
    renderProblem(o.text);
    return;
  }
  state = o.data as State;
  stateAt = performance.now();
  render();
}

function renderProblem(text: string): void {
  root.replaceChildren(el("p", { class: "empty", text: "Playback state is not available." }));
  say(text, true);
}

function progressNow(): number {
  if (!state) return 0;
  const base = state.progress_ms ?? 0;
  const moved = state.is_playing ? performance.now() - stateAt : 0;
  const duration = Number(state.track?.duration_ms) || 0;
  return duration ? Math.min(base + moved, duration) : base + moved;
}

function updateProgress(): void {
  const bar = root.querySelector<HTMLElement>(".progress");
  const fill = root.querySelector<HTMLElement>(".progress-fill");
  const time = root.querySelector<HTMLElement>(".time-now");
  const duration = Number(state?.track?.duration_ms) || 0;
  if (!bar || !fill || !time) return;
  const now = progressNow();
  fill.style.width = duration ? `${(100 * now) / duration}%` : "0%";
  time.textContent = clock(now);
  bar.setAttribute("aria-valuenow", String(Math.floor(now / 1000)));
  bar.setAttribute("aria-valuetext", `${clock(now)} of ${clock(duration)}`);
}

function render(): void {
  if (ticker !== undefined) clearInterval(ticker);
  ticker = undefined;
  const s = state;
  if (!s) return;
  const track = s.track;
  const device = s.device;
  if (!track) {
    root.replaceChildren(
      el(
        "section",
        { class: "card nothing", "aria-label": "Now playing" },
        el("p", { class: "empty", text: "Nothing is playing right now." }),
        el("p", {
          class: "muted",
          text: device?.name
            ? `${device.name} is ready. Start something from a list, or in Spotify.`
            : "No Spotify device is active. Open Spotify on a phone, computer or speaker.",
        }),
        refreshButton(),
      ),
    );
    return;
  }
  const title = str(track.name) || "Unknown title";
  const artists = artistsOf(track.artists);
  const duration = Number(track.duration_ms) || 0;
  const playing = !!s.is_playing;

  const toggle = iconButton(playing ? "pause" : "play", playing ? "Pause" : "Play", "icon primary");
  toggle.dataset.key = "toggle";
  const prev = iconButton("previous", "Previous track");
  prev.dataset.key = "previous";
  const next = iconButton("next", "Next track");
  next.dataset.key = "next";
  const controls = el("div", { class: "controls", role: "group", "aria-label": "Playback controls" }, prev, toggle, next);
  const buttons = [prev, toggle, next];
  toggle.addEventListener("click", () => command(buttons, { command: playing ? "pause" : "resume" }));
  prev.addEventListener("click", () => command(buttons, { command: "previous" }));
  next.addEventListener("click", () => command(buttons, { command: "next" }));

  const progress = el(
    "div",
    {
      class: "progress",
      role: "progressbar",
      "aria-label": "Track progress",
      "aria-valuemin": "0",
      "aria-valuemax": String(Math.floor(duration / 1000)),
    },
    el("div", { class: "progress-fill" }),
  );
  const times = el(
    "div",
    { class: "times", "aria-hidden": "true" },
    el("span", { class: "time-now" }),
    el("span", { text: duration ? clock(duration) : "" }),
  );

  const info = el(
    "div",
    { class: "info" },
    el("p", { class: "eyebrow", text: playing ? "Now playing" : "Paused" }),
    el("h1", { class: "title", text: title }),
    artists ? el("p", { class: "artists", text: artists }) : null,
    str(track.album) ? el("p", { class: "muted album", text: str(track.album) }) : null,
  );

  const card = el(
    "section",
    { class: "card player", "aria-label": "Now playing" },
    el("div", { class: "top" }, cover(imageOf(track), "large"), info),
    progress,
    times,
    controls,
  );
  const volume = volumeControl(device);
  const footer = el(
    "div",
    { class: "footer" },
    el("p", { class: "device muted" }, device?.name ? `On ${device.name}` : "No device"),
    refreshButton(),
  );
  card.append(...[volume, footer].filter((x): x is HTMLElement => !!x));
  root.replaceChildren(card);
  updateProgress();
  if (playing && duration) ticker = window.setInterval(updateProgress, 1000);
}

/// Shown only when the device reports a volume (Spotify gives null for devices that do not
/// allow it) and does not say it lacks volume support.
function volumeControl(device: Device | null | undefined): HTMLElement | null {
  if (!device || typeof device.volume_percent !== "number" || device.supports_volume === false) return null;
  const input = el("input", {
    type: "range",
    id: "volume",
    min: "0",
    max: "100",
    step: "5",
    value: String(device.volume_percent),
    "aria-valuetext": `${device.volume_percent}%`,
    "data-key": "volume",
  });
  const label = el("label", { for: "volume", class: "volume-label" }, icon("volume"), el("span", { text: "Volume" }));
  input.addEventListener("input", () => input.setAttribute("aria-valuetext", `${input.value}%`));
  // `change` fires once on release (or per key press), not on every pixel of a drag.
  input.addEventListener("change", () => command([], { command: "volume", volume_percent: Number(input.value) }));
  return el("div", { class: "volume" }, label, input);
}

function refreshButton(): HTMLButtonElement {
  const b = iconButton("refresh", "Refresh", "icon small");
  b.dataset.key = "refresh";
  b.addEventListener("click", () => busy([b], () => refresh()));
  return b;
}

async function refresh(): Promise<void> {
  const r = await call(app, "get_playback_state", {});
  if (!r.ok) {
    say(r.text, true);
    return;
  }
  state = r.data as State;
  stateAt = performance.now();
  render();
}

async function command(buttons: HTMLButtonElement[], args: Record<string, unknown>): Promise<void> {
  await busy(buttons, async () => {
    const r = await call(app, "control_playback", args);
    if (r.ok) say(r.text || "Done.");
    else say(r.text, true);
    // Spotify applies a command a moment after accepting it (204 first, state later), so
    // the refresh waits a little; the card then shows what Spotify says, not what we asked.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await refresh();
  });
}

root.replaceChildren(el("p", { class: "muted", text: "Waiting for the playback state…" }));
const app = start("Spotify player", show);
