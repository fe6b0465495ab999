// Rows of tracks, albums, artists, playlists, shows or episodes: the results of `search`,
// `get_item`, `get_playlist` and `get_library` (and `search_tracks`, `get_my_playlists`,
// whose shapes are close). Each row plays its item; tracks and episodes can be queued.
import {
  artistsOf,
  busy,
  call,
  clock,
  cover,
  el,
  iconButton,
  imageOf,
  outcome,
  say,
  start,
  str,
  type ToolResult,
} from "./common";

type Obj = Record<string, unknown>;
type Row = { uri: string; name: string; detail: string; image?: string; play: Record<string, unknown> };
type Section = { heading?: string; rows: Row[] };
type View = { title: string; subtitle?: string; image?: string; sections: Section[]; empty: string };

const root = document.getElementById("app") as HTMLElement;
let current: View | undefined;
let playingUri: string | undefined;

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter((x): x is Obj => !!x && typeof x === "object") : [];
}

function kindOf(uri: string): string {
  return uri.split(":")[1] ?? "";
}

/// The second line of a row: who made it, and what kind of thing it is when that is not a
/// track (a row that plays a whole album should say so).
function detailOf(item: Obj, fallbackArtists = ""): string {
  const uri = str(item.uri);
  const artists = artistsOf(item.artists) || fallbackArtists;
  const year = str(item.release_date).slice(0, 4);
  switch (kindOf(uri)) {
    case "album":
      return ["Album", artists, year].filter(Boolean).join(" · ");
    case "artist":
      return ["Artist", ...(Array.isArray(item.genres) ? [artistsOf(item.genres)] : [])].filter(Boolean).join(" · ");
    case "playlist": {
      const owner = str(item.owner);
      return ["Playlist", owner && `by ${owner}`].filter(Boolean).join(" · ");
    }
    case "show":
      return "Podcast";
    case "episode": {
      const d = Number(item.duration_ms);
      return ["Episode", str(item.show), d ? clock(d) : ""].filter(Boolean).join(" · ");
    }
    default: {
      const d = Number(item.duration_ms);
      return [artists, d ? clock(d) : ""].filter(Boolean).join(" · ");
    }
  }
}

function row(item: Obj, fallback: { artists?: string; image?: string; context?: string; offset?: number } = {}): Row | null {
  const uri = str(item.uri);
  if (!uri.startsWith("spotify:")) return null;
  // Inside an album or playlist, a track plays in its context so what follows it does too.
  const play =
    fallback.context && fallback.offset !== undefined && kindOf(uri) === "track"
      ? { uri: fallback.context, offset: fallback.offset }
      : { uri };
  return {
    uri,
    name: str(item.name) || "Untitled",
    detail: detailOf(item, fallback.artists),
    image: imageOf(item) ?? fallback.image,
    play,
  };
}

function rows(items: Obj[], fallback: Parameters<typeof row>[1] = {}, start = 0): Row[] {
  const out: Row[] = [];
  items.forEach((it, i) => {
    const r = row(it, fallback.context ? { ...fallback, offset: start + i } : fallback);
    if (r) out.push(r);
  });
  return out;
}

const SEARCH_TYPES: Array<[string, string]> = [
  ["tracks", "Tracks"],
  ["albums", "Albums"],
  ["artists", "Artists"],
  ["playlists", "Playlists"],
  ["shows", "Podcasts"],
  ["episodes", "Episodes"],
];

const LIBRARY_TITLES: Record<string, string> = {
  saved_tracks: "Liked songs",
  saved_albums: "Saved albums",
  recently_played: "Recently played",
  top_tracks: "Top tracks",
  top_artists: "Top artists",
  followed_artists: "Followed artists",
};

/// Which tool's output this is, told by its shape (a view may be opened by any of them).
function viewOf(d: Obj): View {
  if (d.results && typeof d.results === "object") {
    const results = d.results as Obj;
    const sections = SEARCH_TYPES.map(([key, heading]) => ({
      heading,
      rows: rows(objects((results[key] as Obj | undefined)?.items)),
    })).filter((s) => s.rows.length > 0);
    const q = str(d.query);
    return { title: q ? `Results for “${q}”` : "Search results", sections, empty: q ? `Nothing found for “${q}”.` : "Nothing found." };
  }
  if (Array.isArray(d.tracks) && typeof d.query === "string") {
    return { title: `Tracks for “${d.query}”`, sections: [{ rows: rows(objects(d.tracks)) }], empty: `No tracks found for “${d.query}”.` };
  }
  if (typeof d.kind === "string" && Array.isArray(d.items)) {
    const title = LIBRARY_TITLES[d.kind] ?? "Your library";
    return { title, sections: [{ rows: rows(objects(d.items)) }], empty: `${title}: nothing here yet.` };
  }
  if (Array.isArray(d.playlists)) {
    return { title: "Your playlists", sections: [{ rows: rows(objects(d.playlists)) }], empty: "No playlists yet." };
  }
  if (Array.isArray(d.items)) {
    // get_playlist: its id, name and owner, and a page of items from `offset`.
    const id = str(d.id);
    const context = id ? `spotify:playlist:${id}` : undefined;
    const total = Number(d.total);
    const owner = str(d.owner);
    return {
      title: str(d.name) || "Playlist",
      subtitle: [owner && `by ${owner}`, Number.isFinite(total) ? `${total} items` : ""].filter(Boolean).join(" · "),
      sections: [{ rows: rows(objects(d.items), { context }, Number(d.offset) || 0) }],
      empty: "This playlist is empty.",
    };
  }
  // get_item: the item itself, and what it contains.
  const uri = str(d.uri);
  const image = imageOf(d);
  const name = str(d.name) || "Untitled";
  switch (str(d.type) || kindOf(uri)) {
    case "album": {
      const artists = artistsOf(d.artists);
      return {
        title: name,
        subtitle: detailOf(d),
        image,
        sections: [{ rows: rows(objects(d.tracks), { artists, image, context: uri }) }],
        empty: "This album has no tracks.",
      };
    }
    case "artist":
      return {
        title: name,
        subtitle: detailOf(d),
        image,
        sections: [{ heading: "Albums", rows: rows(objects(d.albums)) }].filter((s) => s.rows.length),
        empty: "No albums to show.",
      };
    case "show":
      return {
        title: name,
        subtitle: "Podcast",
        image,
        sections: [{ heading: "Episodes", rows: rows(objects(d.episodes), { image }) }],
        empty: "No episodes to show.",
      };
    default: {
      const r = row(d);
      return { title: name, sections: r ? [{ rows: [r] }] : [], empty: "Nothing to show." };
    }
  }
}

function show(result: ToolResult): void {
  const o = outcome(result);
  if (!o.ok) {
    root.replaceChildren(el("p", { class: "empty", text: "No list to show." }));
    say(o.text, true);
    return;
  }
  current = viewOf(o.data);
  render();
}

function render(): void {
  const v = current;
  if (!v) return;
  const header = el(
    "header",
    { class: "list-header" },
    v.image ? cover(v.image, "large") : null,
    el(
      "div",
      { class: "info" },
      el("h1", { class: "title", text: v.title }),
      v.subtitle ? el("p", { class: "muted", text: v.subtitle }) : null,
    ),
  );
  const body: HTMLElement[] = [header];
  const count = v.sections.reduce((n, s) => n + s.rows.length, 0);
  if (count === 0) body.push(el("p", { class: "empty", text: v.empty }));
  v.sections.forEach((s, i) => {
    const id = `section-${i}`;
    const heading = s.heading ? el("h2", { id, text: s.heading }) : null;
    const list = el("ul", { class: "rows", ...(heading ? { "aria-labelledby": id } : { "aria-label": v.title }) });
    for (const r of s.rows) list.append(rowElement(r));
    if (s.rows.length) body.push(...[heading, list].filter((x): x is HTMLElement => !!x));
  });
  root.replaceChildren(...body);
}

function rowElement(r: Row): HTMLElement {
  const now = r.uri === playingUri;
  const play = iconButton("play", `Play ${r.name}`, "icon primary");
  play.dataset.key = `play ${r.uri}`;
  const buttons = [play];
  const queueable = ["track", "episode"].includes(kindOf(r.uri));
  const queue = queueable ? iconButton("queue", `Add ${r.name} to queue`) : null;
  if (queue) {
    queue.dataset.key = `queue ${r.uri}`;
    buttons.push(queue);
  }
  play.addEventListener("click", () => busy(buttons, () => playRow(r)));
  queue?.addEventListener("click", () => busy(buttons, () => queueRow(r)));
  return el(
    "li",
    { class: now ? "row now" : "row", ...(now ? { "aria-current": "true" } : {}) },
    cover(r.image, "small"),
    el(
      "div",
      { class: "row-text" },
      el("span", { class: "row-title", text: r.name, title: r.name }),
      el("span", { class: "row-detail muted", text: now ? `Now playing · ${r.detail}` : r.detail }),
    ),
    el("div", { class: "row-actions" }, play, queue),
  );
}

async function playRow(r: Row): Promise<void> {
  const done = await call(app, "play", r.play);
  if (!done.ok) {
    say(done.text, true);
    return;
  }
  // Spotify takes a moment to switch; then the state says what is really playing.
  await new Promise((ok) => setTimeout(ok, 350));
  const state = await call(app, "get_playback_state", {});
  if (!state.ok) {
    say(`Started ${r.name}, but the player state is not available: ${state.text}`, true);
    return;
  }
  const track = state.data.track as Obj | null | undefined;
  playingUri = str(track?.uri) || undefined;
  const name = str(track?.name);
  say(name ? `Now playing: ${name}${track?.artists ? ` — ${artistsOf(track.artists)}` : ""}` : `Started ${r.name}.`);
  render();
}

async function queueRow(r: Row): Promise<void> {
  const done = await call(app, "add_to_queue", { uri: r.uri });
  say(done.ok ? `Added ${r.name} to the queue.` : done.text, !done.ok);
}

root.replaceChildren(el("p", { class: "muted", text: "Waiting for the list…" }));
const app = start("Spotify list", show);
