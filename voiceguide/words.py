"""The words voiceguide itself writes into a session, in the script's language (spec 16).

Chapter titles, the ID3 comment's language and the player page's words come
from one table per language; a language without a table gets English. The
spoken words of ``{duration}`` live beside them in ``durations.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# A language code as scripts and --language give it: en, de, en-gb, pt_BR …
LANGUAGE_PATTERN = r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*"


@dataclass(frozen=True)
class Words:
    """What voiceguide writes, for one language."""

    code: str  # ISO 639-2, as ID3 frames name a language
    stage: str  # "Stage 3: Stride"
    intro: str
    outro: str
    page: dict[str, str]  # the player page's words, by key (see PAGE_KEYS)
    week: str = "Week"  # a programme's items: "Week 2 · Session 3: Hills"
    session: str = "Session"


PAGE_KEYS = (
    "subscribe", "now", "left", "next", "end", "position", "chapters",
    "transcript", "timeline", "offline", "saved", "saving", "unsaved", "no_offline",
    "resume", "from_start", "play", "pause", "back", "forward", "previous", "following",
    "zoom_in", "zoom_out", "no_worker", "no_feed", "stage_files", "calendar", "today",
    "watch", "target", "waiting", "done", "mark_done", "not_done", "up_next", "week_done",
)

ENGLISH = Words("eng", "Stage", "Intro", "Outro", {
    "subscribe": "Subscribe in a podcast app:",
    "now": "Now", "left": "left in this stage", "next": "Next", "end": "the end",
    "position": "Position", "chapters": "Chapters", "transcript": "Transcript",
    "timeline": "Timeline", "offline": "Save for offline", "saved": "Saved for offline",
    "saving": "Saving for offline…", "unsaved": "Remove offline copy",
    "no_offline": "This browser keeps nothing offline here (it needs https or localhost):"
                  " subscribe to the podcast feed instead.",
    "resume": "Continue at", "from_start": "Start again", "play": "Play", "pause": "Pause",
    "back": "Back 15 s", "forward": "Forward 15 s", "previous": "Previous stage",
    "following": "Next stage", "zoom_in": "Zoom in", "zoom_out": "Zoom out",
    "no_worker": "Offline copies need a service worker, which this "
                                   "browser refused.",
    "no_feed": "No podcast feed here yet: publish with --base-url, or open this page through"
               " voiceguide serve.",
    "stage_files": "A file per stage",
    "calendar": "Add the sessions to your calendar", "today": "today",
    "watch": "Workout for your watch", "target": "Target",
    "waiting": "Waiting for you: press Next or Play to go on.",
    "done": "Done", "mark_done": "Mark as done", "not_done": "Mark as not done",
    "up_next": "Up next", "week_done": "done",
})

GERMAN = Words("deu", "Abschnitt", "Einleitung", "Ausklang", {
    "subscribe": "In einer Podcast-App abonnieren:",
    "now": "Jetzt", "left": "übrig in diesem Abschnitt", "next": "Danach", "end": "das Ende",
    "position": "Position", "chapters": "Kapitel", "transcript": "Mitschrift",
    "timeline": "Zeitleiste", "offline": "Für offline speichern",
    "saved": "Offline gespeichert", "saving": "Wird für offline gespeichert…",
    "unsaved": "Offline-Kopie entfernen",
    "no_offline": "Dieser Browser speichert hier nichts offline (dafür braucht er https oder"
                  " localhost): abonniere stattdessen den Podcast-Feed.",
    "resume": "Weiter bei", "from_start": "Von vorn", "play": "Abspielen", "pause": "Pause",
    "back": "15 s zurück", "forward": "15 s vor", "previous": "Voriger Abschnitt",
    "following": "Nächster Abschnitt", "zoom_in": "Vergrößern", "zoom_out": "Verkleinern",
    "no_worker": "Offline-Kopien brauchen einen Service Worker, den dieser "
                                   "Browser abgelehnt hat.",
    "no_feed": "Hier gibt es noch keinen Podcast-Feed: mit --base-url veröffentlichen oder"
               " diese Seite über voiceguide serve öffnen.",
    "stage_files": "Eine Datei pro Abschnitt",
    "calendar": "Die Einheiten in den Kalender übernehmen", "today": "heute",
    "watch": "Training für die Uhr", "target": "Ziel",
    "waiting": "Wartet auf dich: Weiter oder Abspielen drücken, um weiterzumachen.",
    "done": "Erledigt", "mark_done": "Als erledigt markieren",
    "not_done": "Als nicht erledigt markieren", "up_next": "Als Nächstes",
    "week_done": "erledigt",
}, week="Woche", session="Einheit")

SPANISH = Words("spa", "Etapa", "Introducción", "Cierre", {
    "subscribe": "Suscríbete en una app de pódcasts:",
    "now": "Ahora", "left": "quedan en esta etapa", "next": "Después", "end": "el final",
    "position": "Posición", "chapters": "Capítulos", "transcript": "Transcripción",
    "timeline": "Línea de tiempo", "offline": "Guardar sin conexión",
    "saved": "Guardado sin conexión", "saving": "Guardando sin conexión…",
    "unsaved": "Quitar la copia sin conexión",
    "no_offline": "Este navegador no guarda nada sin conexión aquí (necesita https o"
                  " localhost): suscríbete al feed del pódcast.",
    "resume": "Seguir en", "from_start": "Empezar de nuevo", "play": "Reproducir",
    "pause": "Pausa", "back": "Atrás 15 s", "forward": "Adelante 15 s",
    "previous": "Etapa anterior", "following": "Etapa siguiente", "zoom_in": "Acercar",
    "zoom_out": "Alejar",
    "no_worker": "Las copias sin conexión necesitan un service worker, que este navegador"
                 " rechazó.",
    "no_feed": "Aquí aún no hay feed de pódcast: publica con --base-url o abre esta página"
               " con voiceguide serve.",
    "stage_files": "Un archivo por etapa",
    "calendar": "Añadir las sesiones al calendario", "today": "hoy",
    "watch": "Entrenamiento para el reloj", "target": "Objetivo",
    "waiting": "Te espera: pulsa Siguiente o Reproducir para seguir.",
    "done": "Hecho", "mark_done": "Marcar como hecho", "not_done": "Marcar como no hecho",
    "up_next": "A continuación", "week_done": "hechas",
}, week="Semana", session="Sesión")

FRENCH = Words("fra", "Étape", "Introduction", "Conclusion", {
    "subscribe": "S’abonner dans une app de podcasts :",
    "now": "Maintenant", "left": "restant dans cette étape", "next": "Ensuite",
    "end": "la fin", "position": "Position", "chapters": "Chapitres",
    "transcript": "Transcription", "timeline": "Chronologie",
    "offline": "Enregistrer hors connexion", "saved": "Enregistré hors connexion",
    "saving": "Enregistrement hors connexion…", "unsaved": "Supprimer la copie hors connexion",
    "no_offline": "Ce navigateur ne garde rien hors connexion ici (il lui faut https ou"
                  " localhost) : abonnez-vous plutôt au flux du podcast.",
    "resume": "Reprendre à", "from_start": "Recommencer", "play": "Lecture", "pause": "Pause",
    "back": "Reculer de 15 s", "forward": "Avancer de 15 s", "previous": "Étape précédente",
    "following": "Étape suivante", "zoom_in": "Agrandir", "zoom_out": "Réduire",
    "no_worker": "Les copies hors connexion demandent un service worker, que ce navigateur"
                 " a refusé.",
    "no_feed": "Pas encore de flux de podcast ici : publiez avec --base-url, ou ouvrez cette"
               " page avec voiceguide serve.",
    "stage_files": "Un fichier par étape",
    "calendar": "Ajouter les séances au calendrier", "today": "aujourd’hui",
    "watch": "Entraînement pour la montre", "target": "Objectif",
    "waiting": "En attente : appuyez sur Suivant ou Lecture pour continuer.",
    "done": "Fait", "mark_done": "Marquer comme fait", "not_done": "Marquer comme non fait",
    "up_next": "À suivre", "week_done": "faites",
}, week="Semaine", session="Séance")

BY_LANGUAGE = {"en": ENGLISH, "de": GERMAN, "es": SPANISH, "fr": FRENCH}


# BCP 47's shape (RFC 5646): a language, then an optional script, region and variants
LANGUAGE_TAG = (r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
                r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*")


def is_language_tag(text: str) -> bool:
    """*text* is a BCP 47 language tag, as feeds carry them (``pt-BR``, not ``pt_BR``)."""
    return re.fullmatch(LANGUAGE_TAG, text) is not None


def is_language_code(text: str) -> bool:
    return re.fullmatch(LANGUAGE_PATTERN, text) is not None


def words(language: str) -> Words:
    """The words for a script's ``language`` (``de``, ``de-at`` …); English when unknown."""
    return BY_LANGUAGE.get(language.split("-")[0].lower(), ENGLISH)


def item_title(language: str, week: int, session: int, title: str) -> str:
    """A programme session's title in feeds and players: ``Week W · Session S: TITLE``."""
    said = words(language)
    return f"{said.week} {week} · {said.session} {session}: {title}"


def stage_title(language: str, number: int, name: str, rounds: tuple[int, int] | None) -> str:
    """A stage's chapter title: ``Stage N: NAME``, with ``(R/T)`` inside a repeat block."""
    suffix = f" ({rounds[0]}/{rounds[1]})" if rounds else ""
    return f"{words(language).stage} {number}: {name}{suffix}"


class Aimed(Protocol):
    """A stage's target as ``{target}`` speaks it (``script.model.Target``)."""

    @property
    def kind(self) -> str: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def per_mile(self) -> bool: ...


MILE_M = 1609.344  # the pace of a target given per mile is spoken per mile


@dataclass(frozen=True)
class TargetWords:
    """How ``{target}`` is spoken in a language other than English (digits, as spec 8)."""

    to: str
    per_km: str
    per_mile: str
    minutes: str
    heart_rate: str  # with {span}
    cadence: str  # with {span}
    zone: str


TARGET_WORDS = {
    "de": TargetWords("bis", "pro Kilometer", "pro Meile", "Minuten", "einen Puls von {span}",
                      "{span} Schritte pro Minute", "Zone"),
    "es": TargetWords("a", "por kilómetro", "por milla", "minutos",
                      "un pulso de {span}", "{span} pasos por minuto", "zona"),
    "fr": TargetWords("à", "au kilomètre", "au mile", "minutes",
                      "un pouls de {span}", "{span} pas par minute", "zone"),
}


def target_in_words(target: Aimed, language: str) -> str:
    """How ``{target}`` is spoken (spec 19.2): "four thirty to four fifty per kilometre", "a
    heart rate of 140 to 155", "zone two", "170 to 180 steps a minute"; German, Spanish
    and French as well."""
    said = TARGET_WORDS.get(language.split("-")[0].lower())
    if target.kind == "zone":
        return f"{said.zone} {int(target.low)}" if said else f"zone {_number(int(target.low))}"
    if target.kind == "pace":
        scale = MILE_M / 1000 if target.per_mile else 1.0
        spoken = [_pace_words(round(s * scale), said) for s in (target.low, target.high)]
        if said:
            unit = said.per_mile if target.per_mile else said.per_km
        else:
            unit = "per mile" if target.per_mile else "per kilometre"
    else:
        spoken = [str(int(target.low)), str(int(target.high))]
        unit = ""
    span = spoken[0] if spoken[0] == spoken[1] else (
        f"{spoken[0]} {said.to if said else 'to'} {spoken[1]}")
    if target.kind == "heart_rate":
        return said.heart_rate.format(span=span) if said else f"a heart rate of {span}"
    if target.kind == "cadence":
        return said.cadence.format(span=span) if said else f"{span} steps a minute"
    return f"{span} {unit}"


def _pace_words(seconds: int, said: TargetWords | None) -> str:
    minutes, secs = divmod(seconds, 60)
    if said:
        return f"{minutes} {said.minutes} {secs}" if secs else f"{minutes} {said.minutes}"
    if not secs:
        return f"{_number(minutes)} flat"
    return f"{_number(minutes)} {_number(secs) if secs >= 10 else 'oh ' + _number(secs)}"


def _number(n: int) -> str:
    from voiceguide.durations import number_in_words

    return number_in_words(n)
