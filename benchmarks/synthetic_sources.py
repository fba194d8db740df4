"""Synthetic Amazon Reviews 2023 (Movies_and_TV) + TMDB source files, at any size.

Why: `prepare` must be tested and benchmarked on inputs shaped exactly like the
upstream dumps (millions of reviews) without shipping or downloading them.  This
module writes the three files `prepare` reads, byte-identically for the same
arguments:

* ``Movies_and_TV.jsonl``      - one Amazon review per line
* ``meta_Movies_and_TV.jsonl`` - one Amazon item (meta) per line
* ``tmdb_movies.json``         - a JSON array of TMDB movie records keyed by ``asin``

Users, ASINs, ratings, timestamps and review texts are synthetic.  With
``--catalog`` the movie facts (titles, cast, crew, genres, ...) come from a
catalog of real movies (see ``data/sample/catalog.json``); without one they are
invented from word lists.

Usage::

    python benchmarks/synthetic_sources.py --out DIR --reviews N [--users U] \
        [--items I] [--seed 42] [--catalog data/sample/catalog.json] [--bad-rate 0.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

try:  # optional progress bar
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - tqdm is optional
    _tqdm = None

REVIEWS_FILE = "Movies_and_TV.jsonl"
META_FILE = "meta_Movies_and_TV.jsonl"
TMDB_FILE = "tmdb_movies.json"

CHUNK = 100_000
ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TS_MIN = 946_684_800_000  # 2000-01-01T00:00:00Z in ms
TS_MAX = 1_696_031_999_000  # 2023-09-29T23:59:59Z in ms (end of the 2023 crawl)

TMDB_GENRES: dict[str, int] = {
    "Action": 28,
    "Adventure": 12,
    "Animation": 16,
    "Comedy": 35,
    "Crime": 80,
    "Documentary": 99,
    "Drama": 18,
    "Family": 10751,
    "Fantasy": 14,
    "History": 36,
    "Horror": 27,
    "Music": 10402,
    "Mystery": 9648,
    "Romance": 10749,
    "Science Fiction": 878,
    "Thriller": 53,
    "War": 10752,
    "Western": 37,
}
GENRE_NAMES = list(TMDB_GENRES)
# rough share of each genre among synthetic movies (drama/comedy dominate, as on TMDB)
GENRE_WEIGHTS = np.array([9, 6, 3, 12, 6, 2, 16, 4, 4, 2, 6, 1, 3, 6, 5, 9, 1, 1], dtype=float)
LANG_NAMES = {
    "en": "English",
    "fr": "French",
    "ja": "Japanese",
    "it": "Italian",
    "de": "German",
    "es": "Spanish",
    "ko": "Korean",
    "zh": "Mandarin Chinese",
    "cn": "Cantonese",
    "sv": "Swedish",
    "da": "Danish",
    "pt": "Portuguese",
    "hi": "Hindi",
    "ru": "Russian",
    "fa": "Persian",
}
ORIGINS = [("US", "en")] * 14 + [
    ("GB", "en"),
    ("GB", "en"),
    ("FR", "fr"),
    ("CA", "en"),
    ("JP", "ja"),
    ("DE", "de"),
    ("IT", "it"),
    ("KR", "ko"),
    ("ES", "es"),
    ("AU", "en"),
    ("IN", "hi"),
    ("SE", "sv"),
]


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a word-pool literal (keeps the pools compact and readable)."""
    return tuple(w.strip() for w in text.split(sep))


# --------------------------------------------------------------------------------------
# Word pools (written for this project).  Kept small but combinatorial so texts vary.
# --------------------------------------------------------------------------------------
ADJ = _words(
    "Silent Hidden Broken Crimson Golden Last Lost Midnight Distant Burning Frozen "
    "Restless Hollow Savage Gentle Wild Bitter Final Forgotten Iron Velvet Electric "
    "Quiet Endless Falling Rising Northern Southern Sleeping Shattered Secret Painted "
    "Dark Bright Lonely Twisted Scarlet Silver Wandering Faded Sacred Wicked Brave "
    "Empty Fragile Hungry Savage Lucky Stolen Sunken Paper Glass Neon"
)
NOUN = _words(
    "Harbor River Kingdom Garden Road Mirror Storm Island Frontier Hour Shadow Empire "
    "Signal Promise Orchard Station Lighthouse Winter Summer Letter Voyage Crown Tide "
    "Canyon Engine Valley Circus Fortress Ballad Comet Horizon Labyrinth Compass Lantern "
    "Harvest Echo Ember Witness Stranger Prophet Hunter Thief Doctor Widow Captain "
    "Detective Orphan Dancer Pilot Machine Desert Ocean Forest City Tower Bridge "
    "Mountain Empire Season Garden Carnival Requiem Mission"
)
PLURAL = _words(
    "Ghosts Wolves Strangers Sisters Brothers Thieves Saints Giants Angels Kings "
    "Raiders Dreamers Outlaws Rebels Lovers Hunters Children Soldiers Heroes"
)
FIRST_M = _words(
    "James John Robert Michael David Daniel Thomas Peter Samuel Henry Jack Leo Owen "
    "Marcus Victor Julian Felix Hugo Oscar Arthur Luca Mateo Kenji Hiro Ravi Omar "
    "Jonas Lars Pierre Antoine Diego Carlos Ethan Noah Caleb Isaac Gideon Walter "
    "Frank Ray"
)
FIRST_F = _words(
    "Mary Anna Emma Olivia Sophia Grace Clara Alice Lucy Nora Ruth Maya Elena Isabel "
    "Chloe Ava Zoe Hannah Ingrid Astrid Camille Amelie Yuki Aiko Priya Leila Sofia "
    "Lucia Marta Greta Iris Vera June Hazel Rosa Naomi Esther Diane Helen Joan"
)
LAST = _words(
    "Harper Whitaker Calloway Brennan Ashford Delgado Moreau Lindqvist Tanaka Okafor "
    "Castellano Novak Fitzgerald Holloway Marsh Kowalski Reyes Sinclair Thornton Vance "
    "Blackwood Carver Donovan Ellison Fairbanks Garrow Hale Ibsen Jarrett Keane Larkin "
    "Mercer Nakamura Oakley Prescott Quinlan Rourke Sato Tremaine Underwood Voss Weller "
    "Yates Zeller Abernathy Bishop Crane Dalton Everett Fontaine Grady Hartley Ivers "
    "Jensen Kincaid Lombard Morrow Nilsen Ortega Pryor Radcliffe Stroud Templeton"
)
ROLE_WORDS = _words(
    "Sheriff Agent Nurse Professor Mayor Bartender Mechanic Pilot Detective "
    "Reporter Priest Officer Drifter Landlady Coach Surgeon Lieutenant"
)
KEYWORD_POOL = _words(
    "friendship;revenge;small town;based on novel or book;road trip;coming of age;heist;"
    "time travel;haunted house;serial killer;dystopia;artificial intelligence;love triangle;"
    "family relationships;betrayal;survival;war veteran;undercover;space travel;dragon;"
    "high school;wedding;kidnapping;corruption;redemption;sibling rivalry;island;desert;"
    "new york city;paris, france;london, england;tokyo, japan;1970s;1980s;world war ii;"
    "cold war;prison;courtroom;journalist;detective;mafia;vampire;zombie;ghost;alien;robot;"
    "musician;boxing;baseball;chef;dog;horse;treasure;pirate;shipwreck;bank robbery;"
    "amnesia;conspiracy;hostage;single mother;father son relationship;mother daughter "
    "relationship;forbidden love;chosen one;magic;witch;monster;post-apocalyptic future;"
    "rescue mission;double cross;small business;inheritance;reunion;christmas;summer camp;"
    "based on true story;biography;nature;wildlife;duringcreditsstinger;anthology",
    ";",
)
GENRE_THINGS: dict[str, tuple[str, ...]] = {
    "Action": ("the action sequences", "the fight choreography", "the stunt work", "the car chases"),
    "Adventure": ("the sense of adventure", "the big set pieces", "the locations"),
    "Animation": ("the animation", "the character designs", "the voice work"),
    "Comedy": ("the jokes", "the humor", "the comic timing", "the one-liners"),
    "Crime": ("the crime story", "the heist planning", "the gritty streets"),
    "Documentary": ("the interviews", "the archival footage", "the research behind it"),
    "Drama": ("the performances", "the dialogue", "the emotional beats", "the script"),
    "Family": ("the message for kids", "the family-friendly story", "the gentle humor"),
    "Fantasy": ("the world-building", "the creature effects", "the magic system"),
    "History": ("the period detail", "the costumes", "the historical backdrop"),
    "Horror": ("the scares", "the creepy atmosphere", "the practical gore", "the jump scares"),
    "Music": ("the soundtrack", "the musical numbers", "the concert scenes"),
    "Mystery": ("the twists", "the central mystery", "the way the clues are laid out"),
    "Romance": ("the romance", "the chemistry between the leads", "the love story"),
    "Science Fiction": ("the special effects", "the sci-fi ideas", "the production design"),
    "Thriller": ("the suspense", "the tension", "the pacing", "the final act"),
    "War": ("the battle scenes", "the sound design", "the depiction of the soldiers"),
    "Western": ("the landscapes", "the gunfights", "the frontier setting"),
}

# review texts: pools by sentiment (0 = negative, 1 = mixed, 2 = positive)
OPENERS: tuple[tuple[str, ...], ...] = (
    (
        "What a letdown.",
        "I really wanted to like this.",
        "Not for me.",
        "Sorry, but no.",
        "I turned this off halfway through.",
        "Save your money.",
        "Big disappointment.",
        "I don't understand the hype.",
        "Well, that was two hours I won't get back.",
        "Ugh.",
        "I expected a lot more.",
        "Rented this on a whim and regretted it.",
        "My wife picked this one and even she gave up on it.",
        "Hard pass.",
    ),
    (
        "It was okay.",
        "Somewhere in the middle for me.",
        "Decent, not great.",
        "I have mixed feelings about this one.",
        "Watchable once.",
        "Not bad, not amazing.",
        "It has its moments.",
        "Fine for a rainy afternoon.",
        "Three stars feels about right.",
        "I went in with high hopes.",
        "Better than I feared, worse than I hoped.",
    ),
    (
        "Loved it!",
        "What a great film.",
        "One of my all-time favorites.",
        "Wow.",
        "This one holds up.",
        "An absolute classic.",
        "I watch this every year.",
        "Highly recommended.",
        "Just as good as I remembered.",
        "So glad I finally saw this.",
        "A real gem.",
        "Great movie.",
        "Bought this for my dad and we watched it together.",
        "Five stars, no question.",
        "This never gets old.",
    ),
)
BODIES: tuple[tuple[str, ...], ...] = (
    (
        "The story drags and goes nowhere.",
        "The acting felt wooden throughout.",
        "The plot holes were too big to ignore.",
        "Way too long for what it is.",
        "The dialogue is painfully clumsy.",
        "Nothing about it felt original.",
        "The ending made no sense at all.",
        "I could not connect with any of the characters.",
        "The editing is choppy and confusing.",
        "It tries too hard to be clever.",
        "The pacing is all over the place.",
        "The effects look cheap even for the time.",
        "Half the scenes could have been cut.",
        "The characters make the dumbest decisions.",
        "The music is so loud it drowns out the dialogue.",
    ),
    (
        "The first half is strong but the second half loses steam.",
        "Some performances are good, others not so much.",
        "The plot is predictable.",
        "It looks great but the story is thin.",
        "A bit slow in the middle.",
        "The ending felt rushed.",
        "Not as good as the reviews made it sound.",
        "There are a few memorable scenes.",
        "The cast does what they can with the script.",
        "I liked the premise more than the execution.",
        "It drags in places.",
        "Kids might enjoy it more than adults.",
    ),
    (
        "The acting is superb across the board.",
        "The story pulled me in from the first scene.",
        "Every scene feels carefully crafted.",
        "The cinematography is gorgeous.",
        "It made me laugh and cry.",
        "The ending is perfect.",
        "The characters feel real.",
        "It gets better every time I watch it.",
        "The score is beautiful.",
        "It is smart, funny and moving.",
        "The whole family enjoyed it.",
        "I was on the edge of my seat.",
        "Great cast and a great script.",
        "It has aged remarkably well.",
        "The dialogue is sharp and memorable.",
    ),
)
ITEM_SENTENCES: tuple[tuple[str, ...], ...] = (
    (
        "Even {a} could not save {t}.",
        "I expected more from {d}.",
        "{x} felt flat to me.",
        "For a {g} film, {x} left me cold.",
        "{t} is not {d}'s best work.",
        "I usually like {a}, but not here.",
        "If you want good {g}, look elsewhere.",
        "{x} never worked for me.",
    ),
    (
        "{a} is good, but {t} is uneven.",
        "I liked {x} fine, the rest less so.",
        "Not {d}'s best, but watchable.",
        "As {g} goes, {t} is middle of the road.",
        "I liked {x}, but the story lost me.",
        "{a} does a decent job in {t}.",
    ),
    (
        "{a} is fantastic in {t}.",
        "{d} at the top of their game.",
        "I loved {x}.",
        "Some of the best {g} I have seen in years.",
        "{t} is everything a {g} movie should be.",
        "{a} steals every scene.",
        "{d} really knows how to tell a story.",
        "{t} never gets old.",
        "If you like {g}, you have to see {t}.",
        "Worth watching for {x} alone.",
    ),
)
CLOSERS: tuple[tuple[str, ...], ...] = (
    (
        "Not recommended.",
        "Skip it.",
        "One star is generous.",
        "Would not watch again.",
        "Two stars for the effort.",
        "Donating my copy.",
    ),
    (
        "Worth a rental.",
        "Maybe wait for it to be on sale.",
        "Your mileage may vary.",
        "Might give it another chance someday.",
        "Okay for a one-time watch.",
    ),
    (
        "Highly recommend!",
        "A must own.",
        "Buy it, you won't regret it.",
        "Can't wait to watch it again.",
        "Ten out of ten.",
        "Add it to your collection.",
        "Enjoy!",
    ),
)
FORMAT_NOTES = (
    "Disc arrived quickly and plays fine.",
    "The Blu-ray transfer is crisp.",
    "Streaming quality was excellent.",
    "The DVD case was cracked but the disc was okay.",
    "Good picture and sound.",
    "Subtitles are available, which helped.",
    "The extras are worth a look.",
    "Shipped fast, well packaged.",
)
HEADLINES: tuple[tuple[str, ...], ...] = (
    (
        "Disappointing",
        "Not worth it",
        "Boring",
        "Skip this one",
        "What a waste",
        "Did not like it",
        "Meh",
        "Overrated",
        "Terrible",
    ),
    ("It's ok", "Average", "Decent", "Not bad", "Could have been better", "Mixed feelings", "Watchable", "So-so"),
    (
        "Great movie",
        "Loved it",
        "A classic",
        "Excellent",
        "Must see",
        "Wonderful film",
        "Highly recommend",
        "Fantastic",
        "Great family movie",
        "Love this movie",
    ),
)
STAR_HEADLINES = ("One Star", "Two Stars", "Three Stars", "Four Stars", "Five Stars")
OVERVIEW_TEMPLATES = (
    "When {p} {e}, {q} must {m} before {c}.",
    "{p} {e}. Now {q} has to {m}, and {c} could change everything.",
    "In {s}, {p} {e} and is forced to {m}.",
)
OV_E = (
    "returns home after twenty years",
    "inherits a crumbling hotel",
    "witnesses a crime that was never reported",
    "wakes up with no memory",
    "receives a letter from a long-dead friend",
    "loses everything in a single night",
    "is offered one last job",
    "discovers a door that should not exist",
    "agrees to look after a stranger's child",
    "finds a map hidden in an old book",
)
OV_M = (
    "uncover the truth",
    "protect the people they love",
    "outrun a dangerous past",
    "win back a lost fortune",
    "solve a puzzle older than the town itself",
    "keep a fragile family together",
    "cross the country on a deadline",
    "confront the man who ruined them",
)
OV_C = (
    "the storm arrives",
    "the secret gets out",
    "the wrong people find them first",
    "time runs out",
    "the old rivalry erupts again",
    "the winter sets in",
)
OV_S = (
    "a sleepy coastal town",
    "a city that never sleeps",
    "a remote mountain village",
    "a failing traveling circus",
    "a near-future megacity",
    "post-war Europe",
    "the dusty American West",
    "a boarding school with a dark history",
)
CAPTION_TEMPLATES = (
    "A {tone} poster dominated by {motif}, with the title in {font} lettering {pos}.",
    "{motif_c} set against a {tone} background; the cast's names run across {pos2}.",
    "Minimalist {tone} artwork showing {motif} and the title in {font} type.",
)
CAP_TONE = (
    "moody blue",
    "sun-bleached orange",
    "high-contrast black-and-white",
    "warm sepia",
    "neon-lit purple",
    "pale pastel",
    "deep crimson",
    "misty grey-green",
)
CAP_MOTIF = (
    "a lone figure on a hill",
    "two faces in profile",
    "a burning car",
    "a silhouetted skyline",
    "an open road vanishing into the distance",
    "a close-up of a single eye",
    "a small boat on a dark sea",
    "a crowd seen from above",
    "a cracked mirror",
    "a house with one lit window",
)
CAP_FONT = ("bold white", "thin serif", "hand-drawn", "blocky yellow", "elegant gold")
CAP_POS = ("across the bottom", "along the top edge", "stacked in the centre")
CAP_POS2 = ("the top", "the bottom", "a diagonal band")
NONFILM_KINDS = (
    ("{n}: The Complete Season {k}", ["Movies & TV", "TV"]),
    ("{n}: Season {k}", ["Movies & TV", "TV", "Drama"]),
    ("Total Body {w} Workout - {d}-Day Program", ["Movies & TV", "Exercise & Fitness"]),
    ("Beginner Yoga & {w} Routine", ["Movies & TV", "Exercise & Fitness", "Yoga"]),
    ("Classic Cartoon Collection Vol. {k}", ["Movies & TV", "Kids & Family"]),
    ("{n}: Live in Concert", ["Movies & TV", "Music Videos & Concerts"]),
)
WORKOUT = ("Cardio", "Pilates", "Kickboxing", "Core", "Stretch", "Dance")
STUDIOS = (
    "Warner Home Video",
    "Universal Studios",
    "Paramount",
    "20th Century Fox",
    "Sony Pictures Home Entertainment",
    "Lionsgate",
    "Criterion Collection",
    "Disney",
    "MGM",
    "Shout! Factory",
    "Kino Lorber",
    "Anchor Bay",
)
ADVISORIES = ("violence", "foul language", "sexual content", "substance use", "nudity", "alcohol use", "smoking")
MEDIA = ("DVD", "Blu-ray", "Prime Video", "4K", "DVD", "Multi-Format")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _codes(rng: np.random.Generator, n: int, width: int, prefix: str, taken: set[str] | None = None) -> list[str]:
    """`n` unique ids: `prefix` + `width` chars of [A-Z0-9], drawn from `rng`."""
    taken = set() if taken is None else taken
    out: list[str] = []
    while len(out) < n:
        need = n - len(out)
        raw = ALNUM[rng.integers(0, len(ALNUM), size=(need, width))]
        for row in raw.view(f"S{width}").ravel():
            s = prefix + row.decode("ascii")
            if s not in taken:
                taken.add(s)
                out.append(s)
    return out


def _b62(seed_text: str, n: int = 27) -> str:
    """Stable TMDB-looking path token from text (hashlib, never the salted built-in hash)."""
    digest = int.from_bytes(hashlib.sha256(seed_text.encode()).digest(), "big")
    chars = []
    for _ in range(n):
        digest, r = divmod(digest, 62)
        chars.append(B62[r])
    return "".join(chars)


def _date_str(days_since_epoch: int) -> tuple[str, str]:
    """(ISO "YYYY-MM-DD", Amazon "Month D, YYYY") for a day number."""
    d = dt.date(1970, 1, 1) + dt.timedelta(days=int(days_since_epoch))
    return d.isoformat(), f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def _runtime_text(minutes: int) -> str:
    h, m = divmod(int(minutes), 60)
    parts = []
    if h:
        parts.append(f"{h} hour" + ("s" if h > 1 else ""))
    if m:
        parts.append(f"{m} minute" + ("s" if m > 1 else ""))
    return " and ".join(parts) or "0 minutes"


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if enabled and _tqdm is not None:
        return _tqdm(total=total, desc=desc, unit="rev", unit_scale=True, file=sys.stderr)
    return None


def load_catalog(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a catalog of real movies (list of dicts, see data/sample/README.md)."""
    data = orjson.loads(Path(path).read_bytes())
    if not isinstance(data, list):
        raise TypeError(f"{path}: catalog must be a JSON array of movies")
    return data


# --------------------------------------------------------------------------------------
# movies: catalog-backed or synthetic, normalised to one internal shape
# --------------------------------------------------------------------------------------
class _People:
    """Stable invented TMDB person / keyword ids: sequential in first-seen order."""

    def __init__(self, start: int) -> None:
        self.ids: dict[str, int] = {}
        self.next = start

    def get(self, name: str) -> int:
        pid = self.ids.get(name)
        if pid is None:
            pid = self.ids[name] = self.next
            self.next += 1
        return pid


def _catalog_movies(rng: np.random.Generator, catalog: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Catalog entries -> internal movie dicts (ids invented; vote_average synthetic
    unless the catalog gives one, since the catalog holds facts, not scores)."""
    votes = np.round(np.clip(rng.normal(7.3, 0.6, size=len(catalog)), 5.0, 9.0), 3)
    people = _People(10_001)
    keywords = _People(1_001)
    collections = _People(500_001)
    movies = []
    for idx, c in enumerate(catalog):
        cast = [{"name": a["name"], "character": a["character"], "gender": int(a.get("gender", 0))} for a in c["cast"]]
        crew = [{"name": d, "job": "Director", "department": "Directing"} for d in c["directors"]]
        crew += [{"name": w, "job": "Screenplay", "department": "Writing"} for w in c.get("writers", [])]
        crew += [{"name": w, "job": "Novel", "department": "Writing"} for w in c.get("novel", [])]
        crew += [{"name": p, "job": "Producer", "department": "Production"} for p in c.get("producers", [])]
        if c.get("composer"):
            crew.append({"name": c["composer"], "job": "Original Music Composer", "department": "Sound"})
        movies.append(
            {
                "tmdb_id": 20_001 + idx,
                "title": c["title"],
                "original_title": c.get("original_title") or c["title"],
                "release_date": c["release_date"],
                "year": int(c["release_date"][:4]),
                "overview": c["overview"],
                "origin_country": list(c["origin_country"]),
                "original_language": c["original_language"],
                "runtime": int(c["runtime"]),
                "genres": list(c["genres"]),
                "keywords": [(keywords.get(k), k) for k in c["keywords"]],
                "cast": [dict(a, id=people.get(a["name"])) for a in cast],
                "crew": [dict(m, id=people.get(m["name"])) for m in crew],
                "collection": c.get("collection"),
                "collection_id": collections.get(c["collection"]) if c.get("collection") else None,
                "caption": c["visual_caption"],
                "vote_average": float(c.get("vote_average", votes[idx])),
            }
        )
    return movies


def _synthetic_movies(rng: np.random.Generator, n: int, id_start: int) -> list[dict[str, Any]]:
    """`n` invented movies; actors and directors recur across movies like real ones."""
    if n <= 0:
        return []
    n_people = max(300, n * 2)
    first_pick = rng.integers(0, 1 << 30, size=n_people)
    gender = np.where(rng.random(n_people) < 0.45, 1, 2)  # TMDB: 1 female, 2 male
    last_pick = rng.integers(0, len(LAST), size=n_people)
    names = []
    for i in range(n_people):
        pool = FIRST_F if gender[i] == 1 else FIRST_M
        first, last = pool[first_pick[i] % len(pool)], LAST[last_pick[i]]
        # past the first few thousand people, a middle initial keeps most names distinct
        middle = "" if i < 2_000 else f"{chr(65 + (i // 7) % 26)}. "
        names.append(f"{first} {middle}{last}")
    pop = 1.0 / np.arange(1, n_people + 1) ** 0.8
    pop /= pop.sum()
    cast_n = rng.integers(4, 7, size=n)
    cast_ids = rng.choice(n_people, size=(n, 6), p=pop)
    crew_ids = rng.choice(n_people, size=(n, 4), p=pop)
    g_n = rng.choice([1, 2, 3], size=n, p=[0.35, 0.45, 0.2])
    g_pick = rng.choice(len(GENRE_NAMES), size=(n, 3), p=GENRE_WEIGHTS / GENRE_WEIGHTS.sum())
    kw_n = rng.integers(4, 9, size=n)
    kw_pick = rng.integers(0, len(KEYWORD_POOL), size=(n, 8))
    title_form = rng.integers(0, 6, size=n)
    words = rng.integers(0, 1 << 30, size=(n, 3))
    days = rng.integers(-15_000, 19_500, size=n)  # ~1929 .. 2023
    runtime = np.clip(rng.normal(104, 18, size=n), 62, 200).astype(int)
    origin = rng.integers(0, len(ORIGINS), size=n)
    in_coll = rng.random(n) < 0.08
    vote = np.round(np.clip(rng.normal(6.4, 0.9, size=n), 1.0, 9.3), 3)
    ov = rng.integers(0, 1 << 30, size=(n, 6))
    cap = rng.integers(0, 1 << 30, size=(n, 6))
    movies = []
    for i in range(n):
        w0, w1, w2 = (int(x) for x in words[i])
        form = int(title_form[i])
        if form == 0:
            title = f"The {ADJ[w0 % len(ADJ)]} {NOUN[w1 % len(NOUN)]}"
        elif form == 1:
            title = f"{NOUN[w0 % len(NOUN)]} of the {NOUN[w1 % len(NOUN)]}"
        elif form == 2:
            title = f"{ADJ[w0 % len(ADJ)]} {PLURAL[w1 % len(PLURAL)]}"
        elif form == 3:
            title = f"{FIRST_F[w0 % len(FIRST_F)]}'s {NOUN[w1 % len(NOUN)]}"
        elif form == 4:
            title = f"The {NOUN[w0 % len(NOUN)]}"
        else:
            title = f"{ADJ[w0 % len(ADJ)]} {NOUN[w1 % len(NOUN)]} {w2 % 4 + 2}"
        genres = list(dict.fromkeys(GENRE_NAMES[g] for g in g_pick[i, : g_n[i]]))
        kws = list(dict.fromkeys(KEYWORD_POOL[k] for k in kw_pick[i, : kw_n[i]]))
        cast_idx = list(dict.fromkeys(int(p) for p in cast_ids[i, : cast_n[i]]))
        cast = []
        for order, p in enumerate(cast_idx):
            cw = (int(words[i, order % 3]) >> 7) + order
            if order % 2:
                character = f"{ROLE_WORDS[cw % len(ROLE_WORDS)]} {LAST[cw % len(LAST)]}"
            else:
                pool = FIRST_F if gender[p] == 1 else FIRST_M
                character = f"{pool[cw % len(pool)]} {LAST[(cw >> 3) % len(LAST)]}"
            cast.append({"id": 1_000_000 + p, "name": names[p], "character": character, "gender": int(gender[p])})
        jobs = (
            ("Director", "Directing"),
            ("Screenplay", "Writing"),
            ("Producer", "Production"),
            ("Original Music Composer", "Sound"),
        )
        crew = [
            {"id": 1_000_000 + int(p), "name": names[int(p)], "job": j, "department": d}
            for p, (j, d) in zip(crew_ids[i], jobs, strict=True)
        ]
        iso, _ = _date_str(int(days[i]))
        country, lang = ORIGINS[int(origin[i])]
        o = [int(x) for x in ov[i]]
        lead = cast[0]["character"] if cast else "a stranger"
        overview = OVERVIEW_TEMPLATES[o[0] % 3].format(
            p=lead,
            e=OV_E[o[1] % len(OV_E)],
            q="they" if o[2] % 2 else lead.split()[0],
            m=OV_M[o[3] % len(OV_M)],
            c=OV_C[o[4] % len(OV_C)],
            s=OV_S[o[5] % len(OV_S)],
        )
        overview = overview[0].upper() + overview[1:]
        c = [int(x) for x in cap[i]]
        motif = CAP_MOTIF[c[1] % len(CAP_MOTIF)]
        caption = CAPTION_TEMPLATES[c[0] % 3].format(
            tone=CAP_TONE[c[2] % len(CAP_TONE)],
            motif=motif,
            motif_c=motif[0].upper() + motif[1:],
            font=CAP_FONT[c[3] % len(CAP_FONT)],
            pos=CAP_POS[c[4] % len(CAP_POS)],
            pos2=CAP_POS2[c[5] % len(CAP_POS2)],
        )
        coll = f"{title} Collection" if in_coll[i] else None
        movies.append(
            {
                "tmdb_id": id_start + i,
                "title": title,
                "original_title": title,
                "release_date": iso,
                "year": int(iso[:4]),
                "overview": overview,
                "origin_country": [country],
                "original_language": lang,
                "runtime": int(runtime[i]),
                "genres": genres,
                "keywords": [(5_000 + KEYWORD_POOL.index(k), k) for k in kws],
                "cast": cast,
                "crew": crew,
                "collection": coll,
                "collection_id": (700_000 + id_start + i) if coll else None,
                "caption": caption,
                "vote_average": float(vote[i]),
            }
        )
    return movies


def _tmdb_record(asin: str, m: dict[str, Any]) -> dict[str, Any]:
    """Internal movie -> a TMDB-shaped record (as a TMDB /movie call with appends)."""
    coll = None
    if m["collection"]:
        coll = {
            "id": m["collection_id"],
            "name": m["collection"],
            "poster_path": f"/{_b62('poster' + m['collection'])}.jpg",
            "backdrop_path": f"/{_b62('backdrop' + m['collection'])}.jpg",
        }
    dept_of_actor = "Acting"
    return {
        "asin": asin,
        "id": m["tmdb_id"],
        "title": m["title"],
        "original_title": m["original_title"],
        "release_date": m["release_date"],
        "overview": m["overview"],
        "origin_country": m["origin_country"],
        "original_language": m["original_language"],
        "runtime": m["runtime"],
        "genres": [{"id": TMDB_GENRES[g], "name": g} for g in m["genres"]],
        "keywords": {"keywords": [{"id": k, "name": n} for k, n in m["keywords"]]},
        "casts": {
            "cast": [
                {
                    "id": a["id"],
                    "name": a["name"],
                    "character": a["character"],
                    "order": i,
                    "gender": a["gender"],
                    "known_for_department": dept_of_actor,
                }
                for i, a in enumerate(m["cast"])
            ],
            "crew": [
                {"id": c["id"], "name": c["name"], "job": c["job"], "department": c["department"]} for c in m["crew"]
            ],
        },
        "belongs_to_collection": coll,
        "vote_average": m["vote_average"],
        "Visual Caption": m["caption"],
    }


# --------------------------------------------------------------------------------------
# the writer
# --------------------------------------------------------------------------------------
def write_sources(
    out_dir: str | os.PathLike[str],
    n_reviews: int,
    n_users: int | None = None,
    n_items: int | None = None,
    seed: int = 42,
    catalog: str | os.PathLike[str] | Sequence[dict[str, Any]] | None = None,
    bad_rate: float = 0.0,
    *,
    zipf: float = 0.9,
    user_alpha: float = 1.3,
    light_users: int = 0,
    min_user_reviews: int = 1,
    meta_only: int | None = None,
    blank_titles: int | None = None,
    orphans: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Write the three source files into `out_dir`; return counts.

    `zipf` is the item-popularity exponent (smaller = flatter), `user_alpha` the
    Pareto tail of user activity (smaller = heavier).  `light_users` users get
    2..11 reviews, every other user at least `min_user_reviews`.  `meta_only`
    items have no TMDB record (TV seasons, workouts), `blank_titles` TMDB-matched
    items have an empty or null meta title, `orphans` TMDB records match no item.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_reviews = int(n_reviews)
    n_items = int(n_items) if n_items else max(20, round(n_reviews / 25))
    n_users = int(n_users) if n_users else max(10, round(n_reviews / 10))
    if n_reviews < n_users:
        raise ValueError("need at least one review per user (--reviews >= --users)")
    cat = load_catalog(catalog) if isinstance(catalog, (str, os.PathLike)) else catalog
    meta_only = round(0.03 * n_items) if meta_only is None else int(meta_only)
    orphans = max(2, round(0.005 * n_items)) if orphans is None else int(orphans)
    n_film = n_items - meta_only
    blank_titles = max(2, round(0.005 * n_items)) if blank_titles is None else int(blank_titles)
    blank_titles = min(blank_titles, max(n_film, 0))

    # ---- items --------------------------------------------------------------------
    asins = _codes(rng, n_items + orphans, 8, "B0")
    variant_asins = _codes(rng, n_items, 8, "B0", taken=set(asins))
    cat_movies = _catalog_movies(rng, cat[:n_film]) if cat else []
    syn_movies = _synthetic_movies(rng, n_film - len(cat_movies) + orphans, 900_001)
    film_movies = cat_movies + syn_movies[: n_film - len(cat_movies)]
    orphan_movies = syn_movies[n_film - len(cat_movies) :]
    # item slots: a seeded shuffle decides which ids are films / meta-only
    slot = rng.permutation(n_items)
    movie_of: list[dict[str, Any] | None] = [None] * n_items
    for j, m in enumerate(film_movies):
        movie_of[slot[j]] = m
    film_slots = slot[:n_film]
    blank_set = {
        int(s): ("" if k % 2 == 0 else None)
        for k, s in enumerate(rng.choice(film_slots, size=blank_titles, replace=False))
    }
    item_rank = rng.permutation(n_items)  # popularity rank of each item
    item_p = 1.0 / (item_rank + 1.0) ** zipf
    item_p /= item_p.sum()

    # ---- users and interactions ------------------------------------------------------
    light_users = min(light_users, n_users)
    heavy = n_users - light_users
    counts = np.empty(n_users, dtype=np.int64)
    counts[:light_users] = rng.integers(2, 12, size=light_users)
    rest = n_reviews - int(counts[:light_users].sum()) - heavy * min_user_reviews
    if heavy and rest < 0:
        raise ValueError("too few reviews for --users with the requested minimum per user")
    if heavy:
        w = rng.pareto(user_alpha, size=heavy) + 1.0
        w = np.minimum(w, np.quantile(w, 0.999) if heavy > 1000 else w.max())
        counts[light_users:] = min_user_reviews + rng.multinomial(rest, w / w.sum())
    else:
        counts[:light_users] += rng.multinomial(n_reviews - int(counts.sum()), np.full(light_users, 1 / light_users))
    user_perm = rng.permutation(n_users)  # light users are not the first ids
    counts = counts[np.argsort(user_perm)]
    user_ids = _codes(rng, n_users, 27, "A")
    u = np.repeat(np.arange(n_users), counts)
    it = rng.choice(n_items, size=n_reviews, p=item_p)
    for _ in range(6):  # resample most (user, item) repeats; a few stay, as in real data
        key = u * n_items + it
        order = np.argsort(key, kind="stable")
        dup = np.zeros(n_reviews, dtype=bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        nd = int(dup.sum())
        if nd == 0:
            break
        it[dup] = rng.choice(n_items, size=nd, p=item_p)
    # ratings: latent item quality + user bias + noise, cut to Amazon-like marginals
    score = rng.normal(0, 0.8, n_items)[it] + rng.normal(0, 0.6, n_users)[u] + rng.normal(0, 1.0, n_reviews)
    cuts = np.quantile(score, np.cumsum([0.07, 0.06, 0.11, 0.21])) if n_reviews else []
    rating = (np.searchsorted(cuts, score) + 1).astype(np.int64)
    # timestamps: each user is active in a window, skewed to recent years
    span = TS_MAX - TS_MIN
    center = TS_MIN + (rng.beta(3.0, 1.5, n_users) * span).astype(np.int64)
    width = np.minimum(rng.lognormal(20.5, 1.3, n_users), span).astype(np.int64)
    ts = center[u] + ((rng.random(n_reviews) - 0.5) * width[u]).astype(np.int64)
    ts = np.clip(ts, TS_MIN, TS_MAX) + rng.integers(0, 1000, n_reviews)
    ts = np.minimum(ts, TS_MAX)
    helpful = np.where(rng.random(n_reviews) < 0.28, np.minimum(rng.zipf(1.8, n_reviews), 2_000), 0)
    verified = rng.random(n_reviews) < 0.78
    use_variant = rng.random(n_reviews) < 0.12
    has_image = rng.random(n_reviews) < 0.01
    # text picks
    sent = np.where(rating <= 2, 0, np.where(rating == 3, 1, 2))
    text_rng = np.random.default_rng([seed, 1])  # text picks drawn per chunk (memory)
    file_order = rng.permutation(n_reviews)

    # per-item text facts (title, director, lead actor, genre word, genre thing)
    facts: list[tuple[str, str, str, str, tuple[str, ...]] | None] = [None] * n_items
    for s in range(n_items):
        m = movie_of[s]
        if m is None:
            continue
        g = m["genres"][0] if m["genres"] else "Drama"
        dirs = [c["name"] for c in m["crew"] if c["job"] == "Director"]
        facts[s] = (
            m["title"],
            dirs[0] if dirs else "the director",
            m["cast"][0]["name"] if m["cast"] else "the lead",
            g.lower(),
            GENRE_THINGS[g],
        )

    # ---- reviews file ------------------------------------------------------------------
    bad_kinds = ("truncated", "no_user_id", "null_parent_asin", "text_rating", "duplicate")
    bad_mask = (rng.random(n_reviews) < bad_rate) if bad_rate > 0 else None
    n_bad = 0
    bad_counts = dict.fromkeys(bad_kinds, 0)
    bar = _progress(n_reviews, "reviews", progress)
    dumps = orjson.dumps
    prev_line = b""
    rev_path = out / REVIEWS_FILE
    with open(rev_path, "wb") as fh:
        for start in range(0, n_reviews, CHUNK):
            rows = file_order[start : start + CHUNK]
            lines: list[bytes] = []
            c_u, c_it, c_sent = u[rows].tolist(), it[rows].tolist(), sent[rows].tolist()
            c_tr = text_rng.integers(0, 1 << 30, size=(len(rows), 8)).tolist()
            c_shape = text_rng.random((len(rows), 4)).tolist()
            c_rating, c_ts = rating[rows].tolist(), ts[rows].tolist()
            c_help, c_ver = helpful[rows].tolist(), verified[rows].tolist()
            c_var, c_img = use_variant[rows].tolist(), has_image[rows].tolist()
            c_bad = bad_mask[rows].tolist() if bad_mask is not None else None
            for j, r in enumerate(rows.tolist()):
                ui, ii, s = c_u[j], c_it[j], c_sent[j]
                t = c_tr[j]
                sh = c_shape[j]
                f = facts[ii]
                parts: list[str] = []
                if sh[0] < 0.8:
                    op = OPENERS[s]
                    parts.append(op[t[0] % len(op)])
                bd = BODIES[s]
                nb = 1 + int(sh[1] * 3)
                for k in range(nb):
                    parts.append(bd[(t[1] + k * 7) % len(bd)])
                if f is not None and sh[2] < 0.6:
                    tpl = ITEM_SENTENCES[s]
                    things = f[4]
                    sentence = tpl[t[2] % len(tpl)].format(t=f[0], d=f[1], a=f[2], g=f[3], x=things[t[3] % len(things)])
                    parts.insert(int(t[4] % (len(parts) + 1)), sentence[0].upper() + sentence[1:])
                if sh[3] < 0.55:
                    cl = CLOSERS[s]
                    parts.append(cl[t[5] % len(cl)])
                if sh[3] > 0.85:
                    parts.insert(len(parts) - 1, FORMAT_NOTES[t[6] % len(FORMAT_NOTES)])
                if sh[1] > 0.93:  # very short review
                    parts = parts[-1:]
                sep = "<br /><br />" if (t[7] % 13 == 0 and len(parts) > 2) else " "
                text = sep.join(parts)
                if t[7] % 29 == 1:
                    text = text.lower()
                rt = c_rating[j]
                headline = STAR_HEADLINES[rt - 1] if t[6] % 3 == 0 else HEADLINES[s][t[3] % len(HEADLINES[s])]
                pa = asins[ii]
                images: list[dict[str, str]] = []
                if c_img[j]:
                    tok = _b62(f"img{seed}-{r}", 11)
                    base = f"https://images-na.ssl-images-amazon.com/images/I/{tok}L"
                    images = [
                        {
                            "small_image_url": f"{base}._SL256_.jpg",
                            "medium_image_url": f"{base}._SL800_.jpg",
                            "large_image_url": f"{base}.jpg",
                            "attachment_type": "IMAGE",
                        }
                    ]
                rec = {
                    "rating": float(rt),
                    "title": headline,
                    "text": text,
                    "images": images,
                    "asin": variant_asins[ii] if c_var[j] else pa,
                    "parent_asin": pa,
                    "user_id": user_ids[ui],
                    "timestamp": c_ts[j],
                    "helpful_vote": c_help[j],
                    "verified_purchase": c_ver[j],
                }
                if c_bad is not None and c_bad[j]:
                    kind = bad_kinds[n_bad % len(bad_kinds)]
                    n_bad += 1
                    bad_counts[kind] += 1
                    if kind == "truncated":
                        full = dumps(rec)
                        line = full[: max(1, len(full) // 2)]
                    elif kind == "duplicate" and prev_line:
                        line = prev_line
                    else:
                        if kind == "no_user_id":
                            del rec["user_id"]
                        elif kind == "null_parent_asin":
                            rec["parent_asin"] = None
                        elif kind == "text_rating":
                            rec["rating"] = ("one", "two", "three", "four", "five")[rt - 1]
                        else:  # duplicate on the very first line: nothing to copy
                            bad_counts[kind] -= 1
                            n_bad -= 1
                        line = dumps(rec)
                else:
                    line = dumps(rec)
                lines.append(line)
                prev_line = line
            fh.write(b"\n".join(lines))
            fh.write(b"\n")
            if bar is not None:
                bar.update(len(rows))
    if bar is not None:
        bar.close()

    # ---- meta file ----------------------------------------------------------------------
    per_item = np.bincount(it, minlength=n_items)
    rating_sum = np.bincount(it, weights=rating, minlength=n_items)
    extra = rng.integers(0, 40, size=n_items)
    prices = np.round(rng.uniform(3.0, 40.0, size=n_items), 2)
    price_null = rng.random(n_items) < 0.3
    mr = rng.integers(0, 1 << 30, size=(n_items, 8))
    meta_bad = (rng.random(n_items) < bad_rate) if bad_rate > 0 else np.zeros(n_items, bool)
    nonfilm_names = [
        f"{ADJ[int(a) % len(ADJ)]} {NOUN[int(b) % len(NOUN)]}"
        for a, b in rng.integers(0, 1 << 30, size=(n_items, 2))[: meta_only + 1]
    ]
    meta_lines: list[bytes] = []
    n_nonfilm = 0
    for s in range(n_items):
        m = movie_of[s]
        r8 = [int(x) for x in mr[s]]
        cnt = int(per_item[s])
        avg = round(float(rating_sum[s] / cnt), 1) if cnt else round(3.0 + (r8[0] % 20) / 10, 1)
        media = MEDIA[r8[1] % len(MEDIA)]
        if m is None:
            kind_tpl, cats = NONFILM_KINDS[r8[2] % len(NONFILM_KINDS)]
            title: str | None = kind_tpl.format(
                n=nonfilm_names[n_nonfilm % len(nonfilm_names)],
                k=r8[3] % 9 + 1,
                d=(21, 30, 60, 90)[r8[5] % 4],
                w=WORKOUT[r8[4] % len(WORKOUT)],
            )
            n_nonfilm += 1
            details: dict[str, Any] = {
                "Media Format": media,
                "Run time": _runtime_text(40 + r8[5] % 500),
                "Language": "English",
                "Studio": STUDIOS[r8[6] % len(STUDIOS)],
            }
            store = STUDIOS[r8[7] % len(STUDIOS)]
            features: list[str] = []
            description = [f"{title}. Digitally remastered, with bonus material."]
        else:
            title = m["title"]
            if r8[2] % 5 == 0:
                title += (" [Blu-ray]", " (Widescreen Edition)", " [DVD]", " (Special Edition)", " HD")[r8[3] % 5]
            if s in blank_set:
                title = blank_set[s]
            actors = [a["name"] for a in m["cast"][:4]]
            dirs = [c["name"] for c in m["crew"] if c["job"] == "Director"]
            cats = ["Movies & TV"]
            if r8[4] % 3:
                cats = ["Movies & TV", "Genre for Featured Categories", m["genres"][0] if m["genres"] else "Drama"]
            year = m["year"]
            dvd_year = min(2023, max(year, 1997) + r8[5] % 8)
            _, rel = _date_str((dt.date(dvd_year, 1 + r8[6] % 12, 1 + r8[7] % 28) - dt.date(1970, 1, 1)).days)
            details = {
                "Content advisory": sorted({ADVISORIES[r8[0] % 7], ADVISORIES[r8[6] % 7]}),
                "Aspect Ratio": ("1.85:1", "2.35:1", "1.33:1", "1.78:1")[r8[1] % 4],
                "Media Format": media,
                "Release date": rel,
                "Run time": _runtime_text(m["runtime"]),
                "Actors": ", ".join(actors),
                "Director": ", ".join(dirs),
                "Language": LANG_NAMES.get(m["original_language"], "English"),
                "Studio": STUDIOS[r8[7] % len(STUDIOS)],
            }
            if r8[3] % 4 == 0:
                del details["Content advisory"]
            store = ", ".join(f"{a} (Actor)" for a in actors[:2]) + f"  Format: {media}"
            features = [] if r8[5] % 3 else [f"{media} format", "Closed-captioned"]
            description = (
                [] if r8[6] % 4 == 0 else [f"{m['title']} ({year}) on {media}. Starring {', '.join(actors[:3])}."]
            )
        tok = _b62(f"meta{seed}-{s}", 11)
        img_base = f"https://m.media-amazon.com/images/I/{tok}"
        images = [
            {
                "thumb": f"{img_base}._SX38_SY50_CR,0,0,38,50_.jpg",
                "large": f"{img_base}.jpg",
                "variant": "MAIN",
                "hi_res": f"{img_base}._SL1500_.jpg" if r8[0] % 2 else None,
            }
        ]
        rec = {
            "main_category": "Movies & TV",
            "title": title,
            "average_rating": avg,
            "rating_number": cnt + int(extra[s]),
            "features": features,
            "description": description,
            "price": None if price_null[s] else float(prices[s]),
            "images": images,
            "videos": [],
            "store": store,
            "categories": cats if r8[5] % 4 else [],
            "details": details,
            "parent_asin": asins[s],
            "bought_together": None,
        }
        line = dumps(rec)
        if meta_bad[s]:
            line = line[: len(line) // 2]
        meta_lines.append(line)
    (out / META_FILE).write_bytes(b"\n".join(meta_lines) + b"\n")

    # ---- TMDB file (JSON array, one record per line) -------------------------------------
    tmdb_lines = [dumps(_tmdb_record(asins[int(s)], movie_of[int(s)])) for s in sorted(film_slots.tolist())]
    tmdb_lines += [dumps(_tmdb_record(asins[n_items + k], m)) for k, m in enumerate(orphan_movies)]
    (out / TMDB_FILE).write_bytes(b"[\n" + b",\n".join(tmdb_lines) + b"\n]\n")

    return {
        "reviews": n_reviews,
        "bad_reviews": n_bad,
        "bad_review_kinds": bad_counts,
        "users": n_users,
        "items": n_items,
        "items_without_tmdb": meta_only,
        "blank_titles": len(blank_set),
        "bad_meta": int(meta_bad.sum()),
        "tmdb_records": len(tmdb_lines),
        "tmdb_orphans": len(orphan_movies),
        "catalog_movies": len(cat_movies),
        "seconds": round(time.perf_counter() - t0, 2),
        "out_dir": str(out),
    }


def _parse(argv: Iterable[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Write synthetic Amazon Reviews 2023 Movies_and_TV reviews + meta and "
        "TMDB records in the exact upstream formats (deterministic per seed)."
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--reviews", type=int, required=True, help="number of review lines")
    p.add_argument("--users", type=int, default=None, help="users (default reviews/10)")
    p.add_argument("--items", type=int, default=None, help="meta items (default reviews/25)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--catalog", default=None, help="JSON catalog of real movies used for the first items' facts")
    p.add_argument(
        "--bad-rate", type=float, default=0.0, help="fraction of review and meta lines to corrupt (default 0)"
    )
    p.add_argument("--zipf", type=float, default=0.9, help="item popularity exponent; smaller is flatter (default 0.9)")
    p.add_argument(
        "--user-alpha", type=float, default=1.3, help="Pareto tail of user activity; smaller is heavier (default 1.3)"
    )
    p.add_argument("--light-users", type=int, default=0, help="users given only 2..11 reviews (default 0)")
    p.add_argument("--min-user-reviews", type=int, default=1, help="minimum reviews of every other user (default 1)")
    p.add_argument("--meta-only", type=int, default=None, help="items with no TMDB record (default 3%% of items)")
    p.add_argument(
        "--blank-titles",
        type=int,
        default=None,
        help="TMDB-matched items with empty/null meta title (default max(2, 0.5%%))",
    )
    p.add_argument(
        "--orphans", type=int, default=None, help="TMDB records matching no item (default max(2, 0.5%% of items))"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> int:
    """CLI entry point."""
    a = _parse(argv)
    c = write_sources(
        a.out,
        a.reviews,
        a.users,
        a.items,
        a.seed,
        a.catalog,
        a.bad_rate,
        zipf=a.zipf,
        user_alpha=a.user_alpha,
        light_users=a.light_users,
        min_user_reviews=a.min_user_reviews,
        meta_only=a.meta_only,
        blank_titles=a.blank_titles,
        orphans=a.orphans,
        progress=not a.no_progress,
    )
    print(
        f"synthetic sources: {c['reviews']} reviews ({c['bad_reviews']} bad), "
        f"{c['users']} users, {c['items']} items ({c['items_without_tmdb']} without TMDB, "
        f"{c['blank_titles']} blank titles, {c['bad_meta']} bad meta), "
        f"{c['tmdb_records']} TMDB records ({c['tmdb_orphans']} orphans, "
        f"{c['catalog_movies']} from catalog) -> {c['out_dir']} in {c['seconds']}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
