// voiceguide's player page: one session at a time, now playing, chapters and transcript
// marked, the Media Session (earbuds and lock screen), resume, and offline copies.
// The page's data (sessions, chapters, words) is the JSON in #voiceguide-data.
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("voiceguide-data").textContent);
  const SKIP_S = 15; // seekforward / seekbackward and the ±15 buttons
  const RESTART_S = 3; // previoustrack within this of a chapter's start: the chapter before
  const players = [];
  let active = null;

  // m:ss, or h:mm:ss past an hour; whole seconds
  function clock(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = String(whole % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  class Player {
    constructor(section, session) {
      this.section = section;
      this.session = session;
      this.said = session.words;
      this.audio = section.querySelector("audio");
      this.chapterButtons = [...section.querySelectorAll(".chapter")];
      this.lines = [...section.querySelectorAll(".transcript li")];
      this.lineStarts = this.lines.map((li) => parseFloat(li.dataset.start));
      this.now = section.querySelector(".now");
      this.toggle = section.querySelector('[data-action="toggle"]');
      this.chapter = -1;
      this.line = -1;
      this.savedAt = 0;
      this.zoom = 1;
      this.wire();
    }

    get duration() {
      return Number.isFinite(this.audio.duration) ? this.audio.duration : this.session.duration;
    }

    wire() {
      this.audio.addEventListener("play", () => this.started());
      this.audio.addEventListener("pause", () => this.paused());
      this.audio.addEventListener("timeupdate", () => this.update());
      this.audio.addEventListener("seeked", () => this.update());
      this.audio.addEventListener("ended", () => this.forget());
      for (const button of this.chapterButtons) {
        button.addEventListener("click", () => this.play(parseFloat(button.dataset.start)));
      }
      for (const button of this.section.querySelectorAll(".controls button")) {
        button.addEventListener("click", () => this.act(button.dataset.action));
      }
      this.section.querySelector(".zoom-in").addEventListener("click", () => this.zoomBy(2));
      this.section.querySelector(".zoom-out").addEventListener("click", () => this.zoomBy(0.5));
      this.offline = new OfflineCopy(this);
      this.offerResume();
    }

    act(action) {
      if (action === "toggle") return this.audio.paused ? this.play() : this.audio.pause();
      if (action === "back") return this.seek(this.audio.currentTime - SKIP_S);
      if (action === "forward") return this.seek(this.audio.currentTime + SKIP_S);
      if (action === "next") return this.nextChapter();
      if (action === "previous") return this.previousChapter();
      return undefined;
    }

    play(at) {
      if (at !== undefined) this.seek(at);
      return this.audio.play().catch(() => {});
    }

    seek(seconds) {
      this.audio.currentTime = Math.min(Math.max(0, seconds), this.duration);
      this.update();
    }

    chapterAt(seconds) {
      const chapters = this.session.chapters;
      let found = 0;
      for (let i = 0; i < chapters.length; i += 1) if (chapters[i].start <= seconds + 1e-3) found = i;
      return found;
    }

    nextChapter() {
      const next = this.chapterAt(this.audio.currentTime) + 1;
      if (next < this.session.chapters.length) this.seek(this.session.chapters[next].start);
    }

    previousChapter() {
      const here = this.chapterAt(this.audio.currentTime);
      const start = this.session.chapters[here].start;
      const target = this.audio.currentTime - start < RESTART_S && here > 0 ? here - 1 : here;
      this.seek(this.session.chapters[target].start);
    }

    started() {
      for (const other of players) if (other !== this && !other.audio.paused) other.audio.pause();
      active = this;
      this.section.classList.add("active");
      this.section.querySelector(".resume").hidden = true;
      this.section.classList.add("playing");
      this.toggle.setAttribute("aria-label", this.said.pause);
      this.now.hidden = false;
      this.chapter = -1; // metadata anew for this session
      mediaSession(this);
      this.update();
      if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "playing";
    }

    paused() {
      this.section.classList.remove("playing");
      this.toggle.setAttribute("aria-label", this.said.play);
      this.remember(true);
      if (active === this && "mediaSession" in navigator) {
        navigator.mediaSession.playbackState = "paused";
      }
    }

    update() {
      const t = this.audio.currentTime;
      const index = this.chapterAt(t);
      const chapters = this.session.chapters;
      const chapter = chapters[index];
      if (index !== this.chapter) {
        this.chapter = index;
        this.chapterButtons.forEach((b, i) => b.classList.toggle("current", i === index));
        this.chapterButtons.forEach((b, i) => b.setAttribute("aria-current", String(i === index)));
        this.now.querySelector(".now-stage strong").textContent = chapter.title;
        const next = chapters[index + 1];
        this.now.querySelector(".now-next span:last-child").textContent = next ? next.title : this.said.end;
        if (active === this) metadata(this);
      }
      this.now.querySelector(".now-left time").textContent = clock(chapter.end - t);
      this.now.querySelector(".now-position time").textContent =
        `${clock(t)} / ${clock(this.duration)}`;
      this.mark(t);
      this.playhead(t);
      if (active === this) positionState(this);
      this.remember(false);
    }

    mark(t) {
      let line = -1;
      for (let i = 0; i < this.lineStarts.length; i += 1) if (this.lineStarts[i] <= t) line = i;
      if (line === this.line) return;
      if (this.line >= 0) this.lines[this.line].classList.remove("current");
      this.line = line;
      if (line >= 0) {
        const li = this.lines[line];
        li.classList.add("current");
        const list = li.parentElement;
        if (list.closest("details").open) list.scrollTop = li.offsetTop - list.offsetTop - 40;
      }
    }

    playhead(t) {
      const head = this.section.querySelector(".playhead");
      head.hidden = false;
      head.style.left = `${(100 * t) / this.duration}%`;
    }

    zoomBy(factor) {
      this.zoom = Math.min(16, Math.max(1, this.zoom * factor));
      const track = this.section.querySelector(".track");
      track.style.width = `${100 * this.zoom}%`;
      const scroller = this.section.querySelector(".scroller");
      const at = (this.audio.currentTime / this.duration) * track.clientWidth;
      scroller.scrollLeft = Math.max(0, at - scroller.clientWidth / 2);
    }

    // Resume: the position is kept in this browser only (localStorage), never sent anywhere.
    get key() {
      return `voiceguide:position:${location.pathname}:${this.session.name}`;
    }

    remember(now) {
      const t = this.audio.currentTime;
      if (!now && Math.abs(t - this.savedAt) < 5) return;
      this.savedAt = t;
      try {
        localStorage.setItem(this.key, String(t));
      } catch (e) {
        /* storage full or refused: resume is a convenience */
      }
    }

    forget() {
      try {
        localStorage.removeItem(this.key);
      } catch (e) {
        /* nothing kept */
      }
    }

    offerResume() {
      let kept = NaN;
      try {
        kept = parseFloat(localStorage.getItem(this.key));
      } catch (e) {
        return;
      }
      if (!(kept > 5 && kept < this.session.duration - 5)) return;
      const row = this.section.querySelector(".resume");
      row.querySelector("time").textContent = clock(kept);
      row.hidden = false;
      row.querySelector(".resume-go").addEventListener("click", () => this.play(kept));
      row.querySelector(".resume-restart").addEventListener("click", () => {
        this.forget();
        this.play(0);
      });
    }
  }

  // The Media Session: what the lock screen shows and what the earbuds' buttons do.
  function mediaSession(player) {
    if (!("mediaSession" in navigator)) return;
    const handlers = {
      play: () => player.play(),
      pause: () => player.audio.pause(),
      nexttrack: () => player.nextChapter(),
      previoustrack: () => player.previousChapter(),
      seekforward: (d) => player.seek(player.audio.currentTime + ((d && d.seekOffset) || SKIP_S)),
      seekbackward: (d) => player.seek(player.audio.currentTime - ((d && d.seekOffset) || SKIP_S)),
      seekto: (d) => player.seek(d.seekTime),
      stop: () => player.audio.pause(),
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try {
        navigator.mediaSession.setActionHandler(action, handler);
      } catch (e) {
        /* this browser does not know the action */
      }
    }
  }

  function metadata(player) {
    if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
    const cover = player.session.cover || data.cover;
    const artwork = cover
      ? [{ src: new URL(cover, location.href).href, type: cover.endsWith(".png") ? "image/png" : "image/jpeg" }]
      : [];
    navigator.mediaSession.metadata = new MediaMetadata({
      title: player.session.chapters[player.chapter].title,
      artist: player.session.title,
      album: data.title,
      artwork,
    });
  }

  function positionState(player) {
    if (!("mediaSession" in navigator) || !navigator.mediaSession.setPositionState) return;
    const duration = player.duration;
    if (!(duration > 0)) return;
    try {
      navigator.mediaSession.setPositionState({
        duration,
        playbackRate: player.audio.playbackRate || 1,
        position: Math.min(player.audio.currentTime, duration),
      });
    } catch (e) {
      /* a position the browser refuses: leave the last one */
    }
  }

  // Offline copies: the session's files in the browser's cache, answered by sw.js.
  const workerReady = (() => {
    if (!("serviceWorker" in navigator) || !window.isSecureContext || !("caches" in window)) {
      return Promise.resolve(false);
    }
    return navigator.serviceWorker
      .register("sw.js")
      .then(() => navigator.serviceWorker.ready)
      .then(() => true)
      .catch(() => false);
  })();

  class OfflineCopy {
    constructor(player) {
      this.player = player;
      this.button = player.section.querySelector(".offline");
      this.state = player.section.querySelector(".offline-state");
      this.said = player.said;
      this.cacheName = `voiceguide-session:${player.session.name}`;
      this.button.addEventListener("click", () => this.toggle());
      workerReady.then((ok) => (ok ? this.show() : this.unavailable()));
    }

    unavailable() {
      this.button.disabled = true;
      this.state.textContent = this.said.no_worker;
      const note = document.querySelector(".offline-note");
      if (note) note.hidden = false;
    }

    async saved() {
      const cache = await caches.open(this.cacheName);
      const found = await Promise.all(this.player.session.files.map((f) => cache.match(f)));
      return found.every(Boolean);
    }

    async show() {
      const saved = await this.saved();
      this.button.textContent = saved ? this.said.unsaved : this.said.offline;
      this.button.dataset.saved = String(saved);
      this.state.textContent = saved ? this.said.saved : "";
    }

    async toggle() {
      if (this.button.dataset.saved === "true") {
        await caches.delete(this.cacheName);
        return this.show();
      }
      this.button.disabled = true;
      this.state.textContent = this.said.saving;
      try {
        const cache = await caches.open(this.cacheName);
        await cache.addAll(this.player.session.files);
        navigator.serviceWorker.controller?.postMessage("keep-shell");
      } catch (e) {
        await caches.delete(this.cacheName);
      }
      this.button.disabled = false;
      return this.show();
    }
  }

  // A programme's days, in the reader's own words; today's session is marked.
  function showDays() {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    const today = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
    for (const day of document.querySelectorAll("time.day")) {
      const section = day.closest(".session");
      const when = new Date(`${day.dateTime}T12:00:00`);
      day.textContent = when.toLocaleDateString(section?.lang || undefined,
        { weekday: "short", day: "numeric", month: "short" });
      if (day.dateTime === today && section) {
        section.classList.add("today");
        day.textContent += ` (${data.words.today})`;
      }
    }
  }

  showDays();
  for (const session of data.sessions) {
    const section = document.getElementById(`session-${session.name}`);
    if (section) players.push(new Player(section, session));
  }
  window.voiceguide = { players, active: () => active, clock };
})();
