// voiceguide's player page: one session at a time, now playing (with the stage's target),
// chapters and transcript marked, open stages that wait for the runner, the Media Session
// (earbuds and lock screen, on WebKit too), resume, sessions done, and offline copies.
// The page's data (sessions, chapters, words) is the JSON in #voiceguide-data.
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("voiceguide-data").textContent);
  const SKIP_S = 15; // seekforward / seekbackward and the ±15 buttons
  const RESTART_S = 3; // previoustrack within this of a chapter's start: the chapter before
  const HOLD_S = 0.1; // an open stage waits when this close to its end
  // WebKit (every browser on an iPhone or iPad, Safari on a Mac) gives the lock screen's two
  // buttons to the seek actions whenever a page registers them, and resets a page's actions
  // and metadata when playback starts (spec 21.1).
  const WEBKIT = /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (/AppleWebKit/.test(navigator.userAgent) && !/Chrome|Chromium|Android|Edg/.test(navigator.userAgent));
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
      this.inChapter = -1; // where playback last stood: an open stage's end is noticed
      this.waiting = null; // the open stage that waits for the runner, if one does
      this.timer = 0;
      this.settling = false;
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
      this.audio.addEventListener("playing", () => this.playing());
      this.audio.addEventListener("seeking", () => {
        if (this.settling) this.settling = false; // wait()'s own step back to the stage's end
        else this.stopWaiting();
        this.inChapter = -1; // a seek, here or in the browser's own controls, runs past nothing
      });
      this.audio.addEventListener("ended", () => {
        this.forget();
        this.progress.set(true);
      });
      for (const button of this.chapterButtons) {
        button.addEventListener("click", () => this.play(parseFloat(button.dataset.start)));
      }
      for (const button of this.section.querySelectorAll(".controls button")) {
        button.addEventListener("click", () => this.act(button.dataset.action));
      }
      this.section.querySelector(".zoom-in").addEventListener("click", () => this.zoomBy(2));
      this.section.querySelector(".zoom-out").addEventListener("click", () => this.zoomBy(0.5));
      this.offline = new OfflineCopy(this);
      this.progress = new Progress(this);
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
      if (at === undefined && this.waiting !== null) return this.goOn();
      if (at !== undefined) this.seek(at);
      return this.audio.play().catch(() => {});
    }

    seek(seconds) {
      this.stopWaiting();
      const to = Math.min(Math.max(0, seconds), this.duration);
      this.audio.currentTime = to;
      this.inChapter = this.chapterAt(to); // a seek is not playback running past an end
      this.update();
    }

    // An open stage (spec 18.4) that reaches its end does not run into the next stage: the
    // page pauses there and says it waits; next, play or the earbuds go on.
    watchOpen(t, index) {
      const chapters = this.session.chapters;
      const was = this.inChapter;
      this.inChapter = index;
      clearTimeout(this.timer);
      if (this.audio.paused || this.waiting !== null) return;
      if (was === index - 1 && chapters[was].open) return this.wait(was); // ran past its end
      const chapter = chapters[index];
      if (!chapter.open || index === chapters.length - 1) return;
      const left = (chapter.end - t) / (this.audio.playbackRate || 1);
      if (left <= HOLD_S) return this.wait(index);
      this.timer = setTimeout(() => this.update(), (left - HOLD_S / 2) * 1000);
    }

    wait(index) {
      const chapter = this.session.chapters[index];
      this.waiting = index;
      this.settling = true;
      this.audio.pause();
      this.audio.currentTime = Math.max(chapter.start, chapter.end - HOLD_S / 2);
      this.inChapter = index;
      this.section.classList.add("waiting");
      this.now.querySelector(".now-wait").hidden = false;
    }

    stopWaiting() {
      if (this.waiting === null) return;
      this.waiting = null;
      this.section.classList.remove("waiting");
      this.now.querySelector(".now-wait").hidden = true;
    }

    goOn() {
      const next = this.session.chapters[this.waiting + 1];
      this.seek(next.start);
      return this.audio.play().catch(() => {});
    }

    chapterAt(seconds) {
      const chapters = this.session.chapters;
      let found = 0;
      for (let i = 0; i < chapters.length; i += 1) if (chapters[i].start <= seconds + 1e-3) found = i;
      return found;
    }

    nextChapter() {
      if (this.waiting !== null) return this.goOn();
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
      if (this.waiting !== null) this.seek(this.session.chapters[this.waiting + 1].start);
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

    playing() {
      if (!WEBKIT || active !== this) return;
      mediaSession(this); // WebKit dropped them when playback started
      metadata(this);
      positionState(this);
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
        const target = this.now.querySelector(".now-target");
        target.hidden = !chapter.target;
        target.querySelector("span:last-child").textContent = chapter.target || "";
        const next = chapters[index + 1];
        this.now.querySelector(".now-next span:last-child").textContent = next ? next.title : this.said.end;
        if (active === this) metadata(this);
      }
      this.now.querySelector(".now-left time").textContent = clock(chapter.end - t);
      this.now.querySelector(".now-position time").textContent =
        `${clock(t)} / ${clock(this.duration)}`;
      this.watchOpen(t, index);
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
      // on WebKit null: the lock screen's buttons and the earbuds then move between stages
      seekforward: WEBKIT ? null
        : (d) => player.seek(player.audio.currentTime + ((d && d.seekOffset) || SKIP_S)),
      seekbackward: WEBKIT ? null
        : (d) => player.seek(player.audio.currentTime - ((d && d.seekOffset) || SKIP_S)),
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
    const chapter = player.session.chapters[Math.max(0, player.chapter)];
    navigator.mediaSession.metadata = new MediaMetadata({
      title: chapter.target ? `${chapter.title} · ${chapter.target}` : chapter.title,
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

  // Sessions done (played to the end, or marked): kept in this browser only, never sent.
  class Progress {
    constructor(player) {
      this.player = player;
      this.button = player.section.querySelector(".done-toggle");
      this.badge = player.section.querySelector(".done-badge");
      this.button.addEventListener("click", () => this.set(!this.done));
      this.show();
    }

    get key() {
      return `voiceguide:done:${location.pathname}:${this.player.session.name}`;
    }

    get done() {
      try {
        return localStorage.getItem(this.key) === "1";
      } catch (e) {
        return false;
      }
    }

    set(done) {
      try {
        if (done) localStorage.setItem(this.key, "1");
        else localStorage.removeItem(this.key);
      } catch (e) {
        /* storage refused: progress is a convenience */
      }
      this.show();
      showProgress();
    }

    show() {
      const done = this.done;
      this.player.section.classList.toggle("done", done);
      this.badge.hidden = !done;
      this.button.textContent = done ? this.player.said.not_done : this.player.said.mark_done;
      this.button.setAttribute("aria-pressed", String(done));
    }
  }

  // A programme leads with its first session not yet done; each week says how many are.
  function showProgress() {
    const weeks = [...document.querySelectorAll("section.week")];
    if (!weeks.length) return;
    const next = players.find((p) => !p.progress.done);
    for (const p of players) p.section.classList.toggle("up-next", p === next);
    const lead = document.querySelector(".lead");
    lead.hidden = !next;
    if (next) {
      const link = lead.querySelector("a");
      link.href = `#${next.section.id}`;
      link.textContent = next.section.querySelector("h3, h2").textContent;
    }
    for (const week of weeks) {
      const mine = players.filter((p) => week.contains(p.section));
      const done = mine.filter((p) => p.progress.done).length;
      week.querySelector(".week-done").textContent =
        `${done}/${mine.length} ${data.words.week_done}`;
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
  showProgress();
  window.voiceguide = { players, active: () => active, clock };
})();
