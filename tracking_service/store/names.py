"""Generated run names in MLflow's style: `<adjective>-<noun>-<number>`, e.g. `brave-owl-417`."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able", "amber", "ample", "bold", "brave", "bright", "calm", "clever", "crisp", "curious",
    "dapper", "eager", "fancy", "gentle", "glad", "golden", "grand", "happy", "honest", "jolly",
    "keen", "kind", "lively", "loud", "lucky", "merry", "mighty", "neat", "nimble", "noble",
    "proud", "quick", "quiet", "rare", "rosy", "shy", "silent", "smart", "sunny", "swift",
    "tidy", "vast", "warm", "wise", "witty", "young", "zesty",
)  # fmt: skip
_NOUNS = (
    "ant", "ape", "bass", "bat", "bear", "bee", "cat", "crab", "crow", "deer", "dog", "dove",
    "eel", "elk", "fish", "fox", "frog", "goat", "hare", "hawk", "hen", "lark", "lion", "lynx",
    "mole", "moth", "mouse", "newt", "owl", "ox", "panda", "pig", "ram", "rat", "seal", "shark",
    "slug", "snail", "swan", "toad", "trout", "wasp", "whale", "wolf", "worm", "yak", "zebra",
)  # fmt: skip


def generate_run_name(rng: random.Random | None = None) -> str:
    pick = rng or random
    return f"{pick.choice(_ADJECTIVES)}-{pick.choice(_NOUNS)}-{pick.randint(0, 999)}"
