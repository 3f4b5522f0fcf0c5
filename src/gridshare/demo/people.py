"""Names, usernames and contact details for the demo's customers.

Emails use the reserved `example.*` domains and phone numbers the fictional 555-01XX range, so
nothing the demo shows belongs to a real person.
"""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "Maria", "James", "Aiko", "Daniel", "Fatima", "Wei", "Olivia", "Mateo", "Grace", "Noah",
    "Lucia", "Ethan", "Hana", "Samuel", "Isabel", "Omar", "Chloe", "Diego", "Nora", "Kai", "Amara",
    "Leo", "Sofia", "Raj", "Elena", "Tomas", "Mei", "Caleb", "Zara", "Felix",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Nguyen", "Smith", "Hernandez", "Chen", "Johnson", "Patel", "Lopez", "Kim",
    "Williams", "Martinez", "Singh", "Brown", "Tanaka", "Rodriguez", "Davis", "Okafor", "Silva",
    "Miller", "Wong", "Ramirez", "Anderson", "Khan", "Torres", "Murphy", "Cohen", "Reyes", "Baker",
    "Ali", "Flores",
)  # fmt: skip
BUSINESSES = (
    ("Harvest Table Bistro", True),
    ("Cornerstone Dental", False),
    ("Valley Print & Ship", False),
    ("Golden Crust Bakery", True),
    ("Second Street Books", False),
    ("Aggie Cycles", False),
    ("Orchard Yoga Studio", False),
    ("Putah Creek Taqueria", True),
    ("Blue Oak Insurance", False),
    ("Sunrise Laundromat", False),
    ("Farmhouse Florals", False),
    ("Tule Fog Coffee", True),
)
"""Small businesses and whether they cook with gas."""

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def username(name: str, serial: int) -> str:
    """A login name such as `maria.garcia17` (unique by the serial number)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = "".join(c if c.isalnum() else " " for c in plain.lower()).split()
    return f"{'.'.join(words[:2])}{serial}"


def email(login: str, rng: random.Random) -> str:
    return f"{login}@{rng.choice(EMAIL_DOMAINS)}"


def phone(area_code: str, rng: random.Random) -> str:
    """An E.164 number in the fictional 555-0100..555-0199 range."""
    return f"+1{area_code}5550{rng.randint(100, 199)}"
