"""Scale benchmarks (issue #9): P5 contact matching at 100,000 × 100,000, P6 staging and validation of
1,000,000 invoice lines, both through the project's real code paths.

Each benchmark runs in a fresh Python process that first builds its synthetic data (seeded, so every
run sees the same records), then resets the kernel's peak-RSS mark (Linux ``/proc/self/clear_refs``)
and only then starts the clock. ``baseline_rss_mb`` is what the process holds at that point
(interpreter, imports, input data); ``peak_rss_mb`` is the process's peak (VmHWM) during the measured
work, so it is the matcher's or the validator's peak, not the generator's; ``work_rss_mb`` is the
difference. ``cpu_seconds`` counts every thread, so on a busy machine it tells wall time from work.
Where the reset is not available the figures say so (``peak_excludes_setup: false``).

The data carry planted ground truth, and every run reports quality against it: a matcher that is
fast because it matches nothing, or a validator that rejects nothing, fails its own check (``met``).

    python -m bench.scale [--p5-n 100000] [--p6-lines 1000000]     # prints JSON; 0 skips one
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "sfxero.yaml"
SEED = 9
P5_TARGET = {"seconds": 20.0, "peak_rss_mb": 2048.0}
P6_TARGET = {"seconds": 60.0}


# ----- measurement --------------------------------------------------------------------------------------
def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    """This process's peak RSS: VmHWM where there is one.

    Not ``ru_maxrss`` on Linux: after exec it keeps the parent's RSS at fork as a floor, so a child of
    a large process (pytest, Dagster) would report its parent's size; VmHWM belongs to this process
    alone and is what ``clear_refs`` resets.
    """
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 2**20 if sys.platform == "darwin" else kb / 1024  # macOS reports bytes


def _rss_mb() -> float:
    """Resident set size now (elsewhere than Linux, the peak so far: an upper bound)."""
    rss = _status_mb("VmRSS")
    return rss if rss is not None else _peak_mb()


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS, so setup does not count (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _peak_mb() <= _rss_mb() + 1


def _measured(work: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Run ``work`` once; its seconds and the process's peak RSS during it (MB), with the baseline."""
    gc.collect()
    reset = _reset_peak()
    baseline = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    out = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _peak_mb()
    return out, {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # all threads; on a busy machine wall time can exceed it
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "work_rss_mb": round(peak - baseline, 1),
        "peak_excludes_setup": reset,
    }


def _in_child(kind: str, size: int) -> dict[str, Any]:
    """One benchmark in a fresh interpreter: nothing earlier in this process inflates its figures."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--child", kind, "--size", str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"bench.scale {kind} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = round(time.perf_counter() - start, 1)  # incl. start-up and data generation
    return out


def _ids(prefix: str, start: int, count: int) -> list[str]:
    """Valid 18-character Salesforce ids: a digits-only body has the case-safe suffix 'AAA'."""
    return [f"{prefix}5g{i:010d}AAA" for i in range(start, start + count)]


def _stamps(rng: np.random.Generator, count: int, days: int = 540) -> np.ndarray:
    base = np.datetime64("2026-01-01T00:00:00", "s")
    return base - rng.integers(0, days * 86_400, count).astype("timedelta64[s]")


def _zipf(count: int, s: float) -> np.ndarray:
    """Rank-frequency weights: a few tokens in many names, a long tail in few (as in real registers)."""
    w = 1.0 / np.arange(1, count + 1) ** s
    return w / w.sum()


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(text.split()))  # word lists, duplicates dropped


# ----- P5: names, contact details and planted truth -----------------------------------------------------
SURNAMES = _words(
    """Smith Jones Williams Brown Taylor Wilson Nguyen Martin Kelly Murphy Schmidt Dubois Garcia Chen
Patel Walker Young King Wright Scott Thompson White Harris Clarke Lewis Robinson Wood Hall Green Evans
Edwards Hughes Roberts Turner Phillips Campbell Parker Collins Stewart Morris Rogers Cook Morgan Bell
Murray Ward Cooper Richardson Cox Howard Bailey Reid Fraser Hamilton Graham Kennedy Gordon Watson Ross
Hunter Mitchell Henderson Dixon Lee Tran Le Pham Kim Park Singh Kaur Sharma Gupta Khan Ali Ahmed Hussain
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Muller Schneider Fischer Weber Meyer
Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Schroder Neumann Braun Zimmermann Hartmann Lange
Bernard Durand Moreau Laurent Simon Michel Lefebvre Leroy Roux Fournier Girard Bonnet Dupont Lambert
Fontaine Rousseau Vincent Muller Faure Andre Mercier Blanc Guerin Boyer Garnier Chevalier Francois Legrand
Gauthier Perrin Robin Clement Morin Nicolas Henry Roussel Mathieu Byrne Ryan OBrien Walsh Doyle McCarthy
Gallagher Doherty Kennedy Lynch Quinn Moore McLaughlin Carroll Connolly Daly Connell Dunne Brennan Burke
Collins Campbell Kaye Fletcher Barker Holmes Palmer Webb Mason Marshall Ellis Shaw Lloyd Wells Knight
Hill Baker Adams Nelson Carter Perez Sanchez Ramirez Torres Flores Rivera Gomez Diaz Cruz Reyes Morales
Ortiz Gutierrez Chavez Ramos Castillo Jimenez Vargas Romero Herrera Medina Aguilar Vega Castro Mendoza
Ruiz Alvarez Silva Santos Costa Pereira Oliveira Almeida Ferreira Rodrigues Sousa Carvalho Lopes Yamamoto
Tanaka Watanabe Suzuki Sato Ito Nakamura Kobayashi Kato Yoshida Wong Lam Cheung Leung Ho Chan Ng Lau
Novak Horvat Kovac Nowak Kowalski Wisniewski Lewandowski Kaminski Jensen Nielsen Hansen Pedersen Larsen
Andersen Johansson Karlsson Nilsson Eriksson Larsson Olsen Berg Haugen Lindqvist Virtanen Korhonen"""
)
ADJECTIVES = _words(
    """Blue Northern Southern Eastern Western Golden Silver Red Green Black White Grand Royal Bright
Clear Coastal Urban Rural Central United Premier Prime Modern Classic Smart Rapid Swift Bold True Pure
Wild Quiet Little Big High Deep Open Fresh Crystal Iron Copper Amber Emerald Ivory Scarlet Crimson Azure
Sterling Noble Global Pacific Atlantic Alpine Polar Solar Lunar Stellar Digital Vital Metro Civic"""
)
NOUNS = _words(
    """Harbour Ridge River Oak Peak Bay Valley Stone Field Forest Meadow Lake Creek Hill Summit Coast
Bridge Gate Tower Anchor Arrow Beacon Compass Crown Falcon Eagle Fox Hawk Lion Wolf Bear Owl Raven Swan
Maple Cedar Willow Pine Birch Elm Ash Rose Lotus Ivy Fern Wattle Banksia Kauri Heath Moor Dune Reef
Tide Wave Spring Frost Ember Flame Spark Star Comet Orbit Vertex Zenith Apex Pinnacle Horizon Meridian"""
)
PLACES = _words(
    """Sydney Melbourne Brisbane Perth Adelaide Hobart Darwin Canberra Geelong Ballarat Bendigo Cairns
Townsville Newcastle Wollongong Toowoomba Mackay Bunbury Auckland Wellington Christchurch Hamilton
Tauranga Dunedin Napier Nelson London Manchester Leeds Bristol Liverpool Sheffield Glasgow Edinburgh
Cardiff Belfast Brighton Oxford Cambridge York Bath Exeter Norwich Leicester Dublin Cork Galway Limerick
Waterford Kilkenny Berlin Hamburg Munich Cologne Frankfurt Stuttgart Dresden Leipzig Bremen Hanover
Paris Lyon Toulouse Nice Nantes Bordeaux Lille Rennes Marseille Strasbourg Boston Austin Denver Seattle
Portland Chicago Phoenix Dallas Atlanta Miami Oakland Sacramento"""
)
INDUSTRIES = _words(
    """Services Solutions Consulting Logistics Trading Engineering Construction Plumbing Electrical
Foods Bakery Dental Legal Accounting Media Design Studio Labs Systems Software Energy Farms Motors
Transport Freight Imports Supplies Hardware Interiors Landscaping Cleaning Security Medical Pharmacy
Fitness Cafe Catering Events Marketing Digital Technologies Analytics Robotics Textiles Apparel Furniture
Joinery Roofing Painting Architects Surveyors Recruitment Property Realty Finance Capital Partners Advisory
Insurance Travel Education Training Printing Packaging Veterinary Nursery Brewing Winery Dairy Seafood
Plastics Metals Timber Glass Tiling Flooring Solar Irrigation Automotive Aviation Marine Mining"""
)
BRAND_HEADS = _words(
    """Zen Kal Nov Vir Ast Bri Cor Dyn Elm Fal Gal Hel Ion Jov Kin Lum Mar Nex Oct Pax Quo Rav
Sol Tal Ulm Val Wex Xan Yor Zep Alt Bel Cal Dor Eph Fyn Gor Hal Ild Jas Kor Lev Mor Nal Orl Pry Ryn Syl
Tor Ulv Ven Wyn Arc Bix Cyr Dax Evo Flo Gen Hux"""
)
BRAND_MIDS = ["", "", "", "a", "o", "i", "el", "ar", "en", "um"]
BRAND_TAILS = _words(
    """ora ix tec lux ium ex ino ova ent ica yx ust ella ode ify eon vo tra nix dex sys gen wise ly ton
ford stead worth bridge field"""
)
LEGAL = {
    "au": ["Pty Ltd", "Pty Ltd", "Pty Limited", "Limited", ""],
    "uk": ["Ltd", "Limited", "PLC", "GmbH", "SARL", ""],
    "us": ["Inc", "LLC", "Corp", ""],
}
# country, tenant, currency, legal style, phone country and area code, e-mail domain suffix, cities
P5_COUNTRIES = [
    ("Australia", "au", "AUD", "au", "+61 2", "com.au", ["Sydney", "Melbourne", "Brisbane", "Perth"]),
    ("New Zealand", "au", "NZD", "au", "+64 9", "co.nz", ["Auckland", "Wellington"]),
    ("United States", "au", "USD", "us", "+1 415", "com", ["Boston", "Austin", "Denver"]),
    ("United Kingdom", "uk", "GBP", "uk", "+44 20", "co.uk", ["London", "Leeds", "Bristol"]),
    ("Ireland", "uk", "EUR", "uk", "+353 1", "ie", ["Dublin", "Cork"]),
    ("Germany", "uk", "EUR", "uk", "+49 30", "de", ["Berlin", "Hamburg"]),
    ("France", "uk", "EUR", "uk", "+33 1", "fr", ["Paris", "Lyon"]),
]
GENERIC = ["gmail.com", "outlook.com", "bigpond.com", "yahoo.co.uk", "hotmail.com", "icloud.com"]
STREETS = ["George St", "High St", "Main Rd", "Queen St", "King St", "Church Rd", "Station Rd", "Park Ave"]
# planted classes: share of accounts, and the rule expected to find the counterpart
P5_CLASSES = {
    "linked": (0.05, "linked_contact_number"),  # ContactNumber already holds the Salesforce Id
    "tax": (0.15, "tax_number"),  # another (trading) name, the same tax number
    "email_phone": (0.10, "email_domain_phone"),  # another name, the same domain and phone
    "email_address": (0.05, "email_domain_address"),  # another name, the same domain and address
    "exact": (0.10, "exact_name"),  # the same name up to case, punctuation and legal suffix
    "fuzzy": (0.15, "fuzzy_name"),  # a typo or reordered words
    "none": (0.40, "no_candidate"),  # not in Xero: must be created, not linked to a look-alike
}


class _Names:
    """Distinct company names drawn from patterns whose tokens follow a rank-frequency law.

    Industry words ('Services', 'Solutions') appear in thousands of names, surnames and coined brands in
    a few, places in between: so token blocking meets both the common tokens it must cap and the rare
    ones it relies on, as it would on a real register. No two names have the same words in another
    order, and no name's words are contained in another's ('Quoify' and 'Quoify Trading'): no name
    rule can tell those from one company (the matcher sends them to review), so the generator does not
    plant them as two. Names that merely look alike ('Kalaro Solutions', 'Kalara Solutions') remain, as
    in real registers: the matcher must not link them (it links a name only when it differs like a
    typo and nothing on record contradicts it; see ``sfxero_dagster.core.matching.lookalike``).
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.taken: set[frozenset[str]] = set()  # token sets of the names drawn so far
        self.parts: set[frozenset[str]] = set()  # every non-empty subset of those
        self.brands = sorted({h + m + t for h in BRAND_HEADS for m in BRAND_MIDS for t in BRAND_TAILS})
        self.pools = {
            "S": (SURNAMES, _zipf(len(SURNAMES), 0.6)),
            "A": (ADJECTIVES, _zipf(len(ADJECTIVES), 0.5)),
            "N": (NOUNS, _zipf(len(NOUNS), 0.5)),
            "P": (PLACES, _zipf(len(PLACES), 0.8)),
            "I": (INDUSTRIES, _zipf(len(INDUSTRIES), 1.0)),
            "B": (self.brands, _zipf(len(self.brands), 0.3)),
        }
        self.patterns = [("B I", 0.28), ("S I", 0.16), ("A N I", 0.2), ("P I I", 0.12), ("S & S", 0.1)]
        self.patterns += [("B", 0.04), ("A N", 0.05), ("S B I", 0.05)]

    def accept(self, tokens: list[str]) -> bool:
        """Take the name unless it repeats a word, or another name's words hold its words or vice versa."""
        key = frozenset(t.lower() for t in tokens if t != "&")
        if len(key) < sum(t != "&" for t in tokens) or key in self.parts:
            return False
        subsets = [frozenset(c) for r in range(1, len(key) + 1) for c in combinations(sorted(key), r)]
        if any(sub in self.taken for sub in subsets):
            return False
        self.taken.add(key)
        self.parts.update(subsets)
        return True

    def draw(self, count: int) -> list[str]:
        out: list[str] = []
        rng = self.rng
        shapes = [p for p, _ in self.patterns]
        weights = np.array([w for _, w in self.patterns])
        while len(out) < count:
            m = int((count - len(out)) * 1.3) + 16
            shape = rng.choice(len(shapes), m, p=weights / weights.sum())
            words = {k: rng.choice(len(v[0]), (m, 3), p=v[1]) for k, v in self.pools.items()}
            for row in range(m):
                used: dict[str, int] = {}
                tokens = []
                for sym in shapes[shape[row]].split():
                    if sym == "&":
                        tokens.append("&")
                        continue
                    col = used.get(sym, 0)
                    used[sym] = col + 1
                    tokens.append(self.pools[sym][0][words[sym][row, col]])
                if not self.accept(tokens):
                    continue
                out.append(" ".join(tokens))
                if len(out) == count:
                    break
        return out

    def misspell(self, base: str) -> str:
        """A realistic variant still above the fuzzy threshold: a typo in one word, or two words swapped."""
        from sfxero_dagster.core.matching import name_score, normalise_name

        rng = self.rng
        words = base.split()
        i = max(range(len(words)), key=lambda k: len(words[k]))  # the typo goes in the longest word
        for _ in range(20):
            op = int(rng.integers(0, 5))
            reorder = op == 0 and len(words) >= 2 and "&" not in words
            if reorder:
                j = int(rng.integers(0, len(words) - 1))
                variant = [*words[:j], words[j + 1], words[j], *words[j + 2 :]]
            elif len(words[i]) < 3:
                continue
            else:
                w = words[i]
                p = int(rng.integers(1, len(w) - 1))
                if op <= 1:
                    w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]  # transposition
                elif op == 2:
                    w = w[:p] + w[p + 1 :]  # dropped letter
                elif op == 3:
                    w = w[:p] + w[p] + w[p:]  # doubled letter
                else:
                    w = w[:p] + "aeiou"[int(rng.integers(0, 5))] + w[p + 1 :]  # vowel slip
                variant = [*words[:i], w, *words[i + 1 :]]
            a, b = normalise_name(base), normalise_name(" ".join(variant))
            # reordered words are the same name to accept(), rightly; a typo must be a new name
            if a != b and name_score(a, b) >= 92 and (reorder or self.accept(variant)):
                return " ".join(variant)
        return base.upper()  # no variant found (very short name): plant an exact one instead


def _with_legal(rng: np.random.Generator, names: list[str], styles: np.ndarray) -> list[str]:
    suffixes = [LEGAL[s][int(rng.integers(0, len(LEGAL[s])))] for s in styles]
    return [f"{n} {s}" if s else n for n, s in zip(names, suffixes, strict=True)]


def _domain(name: str, tld: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:28] + "." + tld


def _digits(rng: np.random.Generator, count: int, width: int) -> np.ndarray:
    """``count`` distinct random numbers of ``width`` digits (tax numbers must not collide by chance)."""
    return rng.choice(10**width - 10 ** (width - 1), count, replace=False) + 10 ** (width - 1)


def _tax(number: int, tenant: str) -> str:
    """An 11-digit ABN-like number (au) or a GB VAT number (uk); distinct numbers stay distinct."""
    return f"{number % 89 + 10}{number:09d}" if tenant == "au" else f"GB{number:09d}"


def p5_data(n: int, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``n`` staged Salesforce accounts, ``n`` Xero contacts and the truth: (customers, contacts, truth).

    Shares in ``P5_CLASSES``; the Xero side is the counterparts of the accounts that have one, plus
    unrelated contacts (with their own e-mails, phones and tax numbers) up to ``n``, in random order.
    """
    from sfxero_dagster.core.matching import CONTACT_COLUMNS
    from sfxero_dagster.core.staging import StgCustomers

    rng = np.random.default_rng(seed)
    names = _Names(rng)
    shares = np.array([s for s, _ in P5_CLASSES.values()])
    kind = np.array(list(P5_CLASSES))[rng.choice(len(shares), n, p=shares / shares.sum())]
    country = rng.integers(0, len(P5_COUNTRIES), n)
    c = [P5_COUNTRIES[i] for i in country]
    base = names.draw(n)
    acct_names = _with_legal(rng, base, np.array([x[3] for x in c]))
    generic = rng.random(n) < 0.15
    domains = [
        GENERIC[int(rng.integers(0, len(GENERIC)))] if g else _domain(b, x[5])
        for b, x, g in zip(base, c, generic, strict=True)
    ]
    local = rng.integers(1000, 9999, (n, 2))
    phones = [f"{x[4]} {a} {b}" for x, (a, b) in zip(c, local, strict=True)]
    street_no = rng.integers(1, 400, n)
    streets = [f"{s} {STREETS[s % len(STREETS)]}" for s in street_no]
    postcodes = [str(p) for p in rng.integers(1000, 99999, n)]
    has_tax = (rng.random(n) < 0.45) | (kind == "tax")
    tax_numbers = _digits(rng, 2 * n, 9)  # first n for accounts, the rest for unrelated contacts
    taxes = [_tax(t, x[1]) if h else None for t, x, h in zip(tax_numbers[:n], c, has_tax, strict=True)]
    ids = _ids("001", 1, n)
    customers = pd.DataFrame(
        {
            "sf_account_id": ids,
            "name": acct_names,
            "tax_number": taxes,
            "email": [f"accounts@{d}" for d in domains],
            "phone": phones,
            "street": streets,
            "city": [x[6][i % len(x[6])] for i, x in enumerate(c)],
            "region": None,
            "postal_code": postcodes,
            "country": [x[0] for x in c],
            "currency": [x[2] for x in c],
            "tenant_key": [x[1] for x in c],
            "xero_contact_id": None,
            "is_deleted": False,
            "system_modstamp": pd.to_datetime(_stamps(rng, n), utc=True),
        }
    )
    customers = StgCustomers.validate(customers)

    # the Xero side: one counterpart per account that has one, then unrelated contacts
    has = kind != "none"
    trading = iter(names.draw(int(np.isin(kind, ["tax", "email_phone", "email_address"]).sum())))
    rows: list[dict[str, Any]] = []
    expected: list[str | None] = []
    for i in range(n):
        k = str(kind[i])
        if not has[i]:
            expected.append(None)
            continue
        cid = f"c0ffee00-0000-4000-8000-{i:012d}"
        expected.append(cid)
        row: dict[str, Any] = {"contact_id": cid, "tenant_key": c[i][1], "name": acct_names[i]}
        if k == "linked":
            row["contact_number"] = ids[i]
        elif k == "tax":
            t = taxes[i]
            row["name"] = next(trading) + " Holdings"
            row["tax_number"] = f"{t[:2]} {t[2:5]} {t[5:8]} {t[8:]}" if c[i][1] == "au" else t
        elif k in ("email_phone", "email_address"):
            row["name"] = next(trading)
            row["email"] = f"ap@{domains[i]}" if not generic[i] else f"ap@{_domain(base[i], c[i][5])}"
            if generic[i]:  # no domain evidence on a mailbox domain: fall back to a company domain
                customers.at[i, "email"] = row["email"].replace("ap@", "accounts@")
            if k == "email_phone":
                area, rest = phones[i].rsplit(" ", 2)[0], phones[i].split(" ", 2)[2]
                row["phone"] = f"{area.replace('+', '00')} {rest.replace(' ', '-')}"
            else:
                row["street"], row["postal_code"] = streets[i].upper() + ".", postcodes[i]
        elif k == "exact":
            row["name"] = _with_legal(rng, [base[i].upper()], np.array([c[i][3]]))[0]
        elif k == "fuzzy":
            row["name"] = _with_legal(rng, [names.misspell(base[i])], np.array([c[i][3]]))[0]
        rows.append(row)
    m = n - len(rows)
    others = names.draw(m)
    ocountry = rng.integers(0, len(P5_COUNTRIES), m)
    for j, (name, ci) in enumerate(zip(others, ocountry, strict=True)):
        x = P5_COUNTRIES[ci]
        t = int(tax_numbers[n + j])
        rows.append(
            {
                "contact_id": f"d15c0000-0000-4000-8000-{j:012d}",
                "tenant_key": x[1],
                "name": _with_legal(rng, [name], np.array([x[3]]))[0],
                "tax_number": _tax(t, x[1]) if rng.random() < 0.45 else None,
                "email": f"hello@{_domain(name, x[5])}",
                "phone": f"{x[4]} {rng.integers(1000, 9999)} {rng.integers(1000, 9999)}",
                "street": f"{rng.integers(1, 400)} {STREETS[j % len(STREETS)]}",
                "postal_code": str(rng.integers(1000, 99999)),
            }
        )
    contacts = pd.DataFrame(rows).reindex(columns=CONTACT_COLUMNS)
    contacts["status"] = "ACTIVE"
    contacts["updated"] = "2025-12-01T00:00:00+00:00"
    contacts = contacts.iloc[rng.permutation(len(contacts))].reset_index(drop=True)
    contacts = contacts.astype(object).where(contacts.notna(), None)
    truth = pd.DataFrame({"sf_account_id": ids, "kind": kind, "expected_contact_id": expected})
    return customers, contacts, truth


P5_QUALITY_FLOOR = {"correct": 0.90, "wrong": 0.001}  # shares of all accounts
EVIDENCE_CLASSES = ("linked", "tax", "email_phone", "email_address")


def p5_quality(matches: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Outcome per planted class: correct, wrong (linked elsewhere), review, missed (created).

    For ``none`` a create is correct and any link is wrong. ``ok`` needs every evidence pair (link,
    tax number, e-mail domain + phone or address) linked to its counterpart, and the overall shares in
    ``P5_QUALITY_FLOOR``: at least 90 % correct, a guard against a matcher that is fast because it
    matches nothing; and at most 0.1 % wrong links, because a wrong link is the worst outcome (the
    account's invoices land on another company's contact) while a review costs a person a look. Not a
    claim that fuzzy names are solved: look-alikes with no counterpart are reviews, not creates.
    """
    m = truth.merge(matches, on="sf_account_id", how="left")
    linked = m["action"].eq("link")
    exp = m["expected_contact_id"]
    right = linked & m["xero_contact_id"].eq(exp)
    outcome = np.select(
        [right, linked, m["action"].eq("review"), exp.isna() & m["action"].eq("create")],
        ["correct", "wrong", "review", "correct"],
        "missed",
    )
    by_class = pd.crosstab(m["kind"], outcome).reindex(columns=["correct", "wrong", "review", "missed"])
    by_class = by_class.fillna(0).astype(int)
    ordered = [k for k in P5_CLASSES if k in by_class.index]
    as_planted = m.loc[right, "rule"].eq(m.loc[right, "kind"].map(lambda k: P5_CLASSES[k][1])).sum()
    total = {k: int(v) for k, v in by_class.sum().items()}
    evidence = by_class.reindex([k for k in EVIDENCE_CLASSES if k in by_class.index])
    n = max(1, len(m))
    return {
        "total": total,
        "by_class": {k: {c: int(v) for c, v in by_class.loc[k].items()} for k in ordered},
        "correct_share": round(total["correct"] / n, 4),
        "correct_by_planted_rule": int(as_planted),
        "rules": {str(k): int(v) for k, v in m["rule"].value_counts().items()},
        "ok": bool(
            (evidence[["wrong", "review", "missed"]].to_numpy().sum() == 0)
            and total["correct"] >= P5_QUALITY_FLOOR["correct"] * n
            and total["wrong"] <= P5_QUALITY_FLOOR["wrong"] * n
        ),
    }


def _missed_outside_block(
    matches: pd.DataFrame, truth: pd.DataFrame, customers: pd.DataFrame, contacts: pd.DataFrame
) -> int:
    """Planted pairs created anew whose counterpart was never a candidate: token blocking lost them
    (a typo in the only rare word, or a common word whose capped posting list stops short of it)."""
    from sfxero_dagster.core.matching import MatchSettings, _TenantIndex, normalise_name

    m = truth.merge(matches[["sf_account_id", "action"]], on="sf_account_id").merge(
        customers[["sf_account_id", "name", "tenant_key"]], on="sf_account_id"
    )
    m = m.loc[m["action"].eq("create") & m["expected_contact_id"].notna()]
    out = 0
    for tenant, group in m.groupby("tenant_key"):
        index = _TenantIndex(
            contacts.loc[contacts["tenant_key"] == tenant].reset_index(drop=True), MatchSettings()
        )
        where = {cid: i for i, cid in enumerate(r["contact_id"] for r in index.rows)}
        for name, cid in zip(group["name"], group["expected_contact_id"], strict=True):
            out += where[cid] not in set(index.block(normalise_name(name)).tolist())
    return out


def _p5_child(n: int) -> dict[str, Any]:
    from sfxero_dagster.config import load_config
    from sfxero_dagster.core.matching import MatchSettings, match_contacts

    m = load_config(CONFIG).matching
    settings = MatchSettings(
        fuzzy_threshold=m.fuzzy_threshold,
        ambiguity_margin=m.ambiguity_margin,
        use_tax_number=m.use_tax_number,
        use_email_domain=m.use_email_domain,
        ignore_generic_email_domains=m.ignore_generic_email_domains,
    )
    customers, contacts, truth = p5_data(n)
    matches, figures = _measured(lambda: match_contacts(customers, contacts, settings))
    quality = p5_quality(matches, truth)
    quality["missed_outside_block"] = _missed_outside_block(matches, truth, customers, contacts)
    return {
        "benchmark": "P5 contact matching",
        "accounts": n,
        "xero_contacts": len(contacts),
        **figures,
        "quality": quality,
        "target": {**P5_TARGET, "quality": P5_QUALITY_FLOOR},
        "met": figures["seconds"] < P5_TARGET["seconds"]
        and figures["peak_rss_mb"] < P5_TARGET["peak_rss_mb"]
        and quality["ok"],
    }


def p5(n: int = 100_000) -> dict[str, Any]:
    """P5: match ``n`` Salesforce accounts against ``n`` Xero contacts (fresh process; JSON-able)."""
    return _in_child("p5", n)


# ----- P6: Salesforce extracts with planted defects ----------------------------------------------------
FX = {"AUD": 1.0, "NZD": 1.1, "USD": 0.66, "GBP": 0.52, "EUR": 0.6, "JPY": 98.0}
REGIONS = ["North", "South", "East", "West"]
XERO_ORGS = {  # base currency, other enabled currencies, tax rates (TaxType, status, rate)
    "au": (
        "AUD",
        ["USD", "NZD"],
        [("OUTPUT", "ACTIVE", 10), ("EXEMPTOUTPUT", "ACTIVE", 0), ("EXEMPTEXPORT", "ARCHIVED", 0)],
    ),
    "uk": (
        "GBP",
        ["USD", "EUR"],
        [("OUTPUT2", "ACTIVE", 20), ("ZERORATEDOUTPUT", "ACTIVE", 0), ("EXEMPTOUTPUT", "ACTIVE", 0)],
    ),
}
# kind -> (source, reason codes expected, on the line (else on the header))
P6_PLANTS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "missing_sku": ("opportunity", ("missing_sku",), True),
    "sku_not_in_xero": ("opportunity", ("sku_not_in_xero",), True),
    "inactive_product": ("opportunity", ("inactive_product",), True),  # WARN: reported, not held back
    "unknown_account_code": ("opportunity", ("unknown_account_code",), True),
    "unmapped_tax_code": ("opportunity", ("unmapped_tax_code",), True),
    "unknown_tax_type": ("opportunity", ("unknown_tax_type",), True),  # EXPORT -> an archived rate (au)
    "zero_quantity": ("opportunity", ("invalid_quantity",), True),
    "negative_price": ("opportunity", ("negative_amount",), True),
    "currency_mismatch": ("opportunity", ("currency_mismatch",), True),
    "currency_not_enabled": ("opportunity", ("currency_not_enabled",), False),  # JPY
    "unknown_tracking_option": ("opportunity", ("unknown_tracking_option",), False),
    "amount_mismatch": ("opportunity", ("amount_mismatch",), False),
    "no_line_items": ("opportunity", ("no_line_items",), False),
    "missing_account": ("opportunity", ("missing_required_field", "unroutable_account"), False),
    "discount_over_100": ("order", ("invalid_discount",), True),
    "duplicate_invoice_number": ("order", ("duplicate_invoice_number",), False),  # planted in pairs
}
_NUMERIC = {
    "Amount",
    "TotalAmount",
    "Quantity",
    "UnitPrice",
    "ListPrice",
    "Discount",
    "TotalPrice",
    "Discount__c",
}
_BOOLEAN = {"IsDeleted", "IsWon", "IsClosed", "IsActive", "Is_Billing_Contact__c"}


def _half_up(values: np.ndarray) -> np.ndarray:
    """Cents, half away from zero: how Salesforce rounds TotalPrice and Xero rounds a line."""
    return np.sign(values) * np.floor(np.abs(values) * 100 + 0.5 + 1e-9) / 100


def _extract_frame(columns: dict[str, Any], fields: list[str]) -> pd.DataFrame:
    """The frame an extract asset stores: exactly its fields, typed as ``typed_frame`` types them."""
    df = pd.DataFrame(columns).reindex(columns=fields)
    for col in fields:
        if col in _BOOLEAN:
            df[col] = df[col].astype("boolean")
        elif col in _NUMERIC:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        else:
            df[col] = df[col].astype("string")
    return df


def p6_data(lines: int, seed: int = SEED) -> tuple[dict[str, pd.DataFrame], dict[str, Any], dict[str, Any]]:
    """Salesforce extract frames holding ``lines`` invoice lines, the Xero references, and the plants.

    About 5 lines per header, 80 % Opportunities and 20 % Orders, some lost, cancelled or deleted (kept
    by staging, not validated). ``max(2, headers // 2000)`` headers per kind in ``P6_PLANTS`` carry one
    defect each. Returns (frames by Salesforce object, Xero reference JSON by tenant, planted) where
    planted maps header Id -> (kind, expected {(reason_code, line Id or None)}).
    """
    from sfxero_dagster.config import load_config
    from sfxero_dagster.defs.salesforce.assets import extracts

    config = load_config(CONFIG)
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 10, lines // 4 + 64)
    cum = np.cumsum(per)
    h = int(np.searchsorted(cum, lines)) + 1
    per = per[:h].copy()
    per[-1] -= int(cum[h - 1]) - lines
    n_opp = int(h * 0.8)
    is_opp = np.arange(h) < n_opp

    # accounts and their billing contacts
    a = max(40, h // 10)
    country = np.arange(a) % len(P5_COUNTRIES)
    acct_ids = np.array(_ids("001", 1, a), dtype=object)
    a_tenant = np.array([P5_COUNTRIES[c][1] for c in country], dtype=object)
    a_cur = np.array([P5_COUNTRIES[c][2] for c in country], dtype=object)
    names = _Names(rng).draw(a)
    accounts = {
        "Id": acct_ids,
        "SystemModstamp": np.datetime_as_string(_stamps(rng, a), unit="ms"),
        "IsDeleted": False,
        "Name": names,
        "Phone": [
            f"{P5_COUNTRIES[c][4]} {x} {y}"
            for c, (x, y) in zip(country, rng.integers(1000, 9999, (a, 2)), strict=True)
        ],
        "BillingStreet": [f"{x} {STREETS[x % len(STREETS)]}" for x in rng.integers(1, 400, a)],
        "BillingCity": [P5_COUNTRIES[c][6][0] for c in country],
        "BillingPostalCode": rng.integers(1000, 99999, a).astype(str),
        "BillingCountry": [P5_COUNTRIES[c][0] for c in country],
        "CurrencyIsoCode": a_cur,
    }
    contacts = {
        "Id": _ids("003", 1, a),
        "SystemModstamp": accounts["SystemModstamp"],
        "IsDeleted": False,
        "AccountId": acct_ids,
        "FirstName": "Alex",
        "LastName": [f"{n.split()[0]}" for n in names],
        "Email": [f"accounts@{_domain(n, P5_COUNTRIES[c][5])}" for n, c in zip(names, country, strict=True)],
        "Is_Billing_Contact__c": True,
    }

    # products (plus four planted ones) with even-cent prices in every currency: no half-cent ties
    p = 500
    product_ids = _ids("01t", 1, p + 4)
    codes = [f"SKU-{i:05d}" for i in range(1, p + 1)] + [
        None,
        "SKU-NOT-IN-XERO",
        "SKU-RETIRED",
        "SKU-ODD-ACCT",
    ]
    cents = rng.integers(250, 60_000, p + 4) * 2
    currencies = list(FX)
    price = np.stack([np.round(cents * FX[c] / 2) * 2 / 100 for c in currencies], axis=1)
    products = {
        "Id": product_ids,
        "SystemModstamp": np.datetime_as_string(_stamps(rng, p + 4), unit="ms"),
        "IsDeleted": False,
        "Name": [f"Product {i}" for i in range(p + 4)],
        "ProductCode": codes,
        "IsActive": [True] * (p + 2) + [False, True],
        "Tax_Code__c": np.where(rng.random(p + 4) < 0.9, "GST", "GST_FREE"),
        "Xero_Account_Code__c": [*np.where(rng.random(p + 3) < 0.8, None, "260"), "999"],
    }
    entries = {
        "Id": _ids("01u", 1, (p + 4) * len(currencies)),
        "SystemModstamp": np.repeat(products["SystemModstamp"], len(currencies)),
        "IsDeleted": False,
        "Pricebook2Id": _ids("01s", 1, 1) * ((p + 4) * len(currencies)),
        "Product2Id": np.repeat(product_ids, len(currencies)),
        "UnitPrice": price.ravel(),
        "IsActive": True,
        "CurrencyIsoCode": currencies * (p + 4),
    }

    # headers
    h_acct = rng.integers(0, a, h)
    h_account = acct_ids[h_acct].copy()
    h_tenant, h_cur = a_tenant[h_acct], a_cur[h_acct].copy()
    region = np.array(REGIONS, dtype=object)[rng.integers(0, 4, h)]
    won = rng.random(h) < 0.95
    deleted = is_opp & (rng.random(h) < 0.002)
    h_ids = np.array(_ids("006", 1, n_opp) + _ids("801", 1, h - n_opp), dtype=object)
    order_number = np.array([f"{i:08d}" for i in range(101, 101 + h - n_opp)], dtype=object)

    # lines
    n = int(per.sum())
    line_h = np.repeat(np.arange(h), per)
    first_line = np.cumsum(per) - per
    line_ids = np.empty(n, dtype=object)
    opp_lines = is_opp[line_h]
    line_ids[opp_lines] = _ids("00k", 1, int(opp_lines.sum()))
    line_ids[~opp_lines] = _ids("802", 1, int((~opp_lines).sum()))
    product = rng.integers(0, p, n)
    qty = np.where(
        opp_lines, rng.choice([1, 1, 2, 3, 5, 10, 2.5, 0.5], n), rng.choice([1, 1, 2, 3, 5, 10], n)
    )
    disc = np.where(
        opp_lines,
        rng.choice([np.nan, np.nan, np.nan, 5, 10, 12.5], n),
        rng.choice([np.nan, np.nan, np.nan, np.nan, 10, 20], n),
    )
    uk = h_tenant[line_h] == "uk"
    tax = np.where(uk, rng.choice(["VAT20", "VAT20", "VAT_ZERO"], n), None).astype(object)
    l_cur = h_cur[line_h].copy()

    # plants: distinct headers that would otherwise be sent
    planted: dict[str, tuple[str, set[tuple[str, str | None]]]] = {}
    k = max(2, h // 2000)
    pool = {
        "opportunity": [i for i in rng.permutation(n_opp) if won[i] and not deleted[i]],
        "order": [i for i in n_opp + rng.permutation(h - n_opp) if won[i]],
    }
    drop = np.zeros(n, dtype=bool)
    bump: list[int] = []
    negative: list[int] = []
    for kind, (source, codes_, on_line) in P6_PLANTS.items():
        picks = []
        while len(picks) < k * (2 if kind == "duplicate_invoice_number" else 1):
            i = pool[source].pop()
            if kind == "unknown_tax_type" and h_tenant[i] != "au":
                continue
            picks.append(i)
        for i in picks:
            ln = first_line[i]
            planted[h_ids[i]] = (kind, {(c, line_ids[ln] if on_line else None) for c in codes_})
        lns = [first_line[i] for i in picks]
        if kind in ("missing_sku", "sku_not_in_xero", "inactive_product", "unknown_account_code"):
            product[lns] = p + [
                "missing_sku",
                "sku_not_in_xero",
                "inactive_product",
                "unknown_account_code",
            ].index(kind)
        elif kind == "unmapped_tax_code":
            tax[lns] = "LUX_TAX"
        elif kind == "unknown_tax_type":
            tax[lns] = "EXPORT"
        elif kind == "zero_quantity":
            qty[lns] = 0
        elif kind == "negative_price":
            negative += lns
        elif kind == "currency_mismatch":
            l_cur[lns] = [("EUR" if h_cur[i] == "USD" else "USD") for i in picks]
        elif kind == "currency_not_enabled":
            h_cur[picks] = "JPY"
            l_cur[np.isin(line_h, picks)] = "JPY"
        elif kind == "unknown_tracking_option":
            region[picks] = "Atlantis"
        elif kind == "amount_mismatch":
            bump += picks
        elif kind == "no_line_items":
            drop |= np.isin(line_h, picks)
        elif kind == "missing_account":
            h_account[picks] = None
        elif kind == "discount_over_100":
            disc[lns] = 150
        elif kind == "duplicate_invoice_number":
            for x, y in zip(picks[::2], picks[1::2], strict=True):
                order_number[y - n_opp] = order_number[x - n_opp]
    unit = price[product, [currencies.index(c) for c in l_cur]]
    unit[negative] = -10.0
    total = _half_up(qty * unit * (100 - np.nan_to_num(disc)) / 100)
    keep = ~drop
    amount = np.bincount(line_h[keep], weights=total[keep], minlength=h)
    amount[bump] += 5.0
    stamps = np.datetime_as_string(_stamps(rng, h), unit="ms")
    close = np.datetime_as_string(_stamps(rng, h).astype("datetime64[D]"), unit="D")
    stage = np.where(won, "Closed Won", "Closed Lost")

    def items(mask: np.ndarray, parent: str) -> dict[str, Any]:
        m = mask & keep
        return {
            "Id": line_ids[m],
            "SystemModstamp": stamps[line_h[m]],
            "IsDeleted": False,
            parent: h_ids[line_h[m]],
            "PricebookEntryId": None,
            "Product2Id": np.array(product_ids, dtype=object)[product[m]],
            "Quantity": qty[m],
            "UnitPrice": unit[m],
            "Discount": disc[m],
            "Discount__c": disc[m],
            "TotalPrice": total[m],
            "CurrencyIsoCode": l_cur[m],
            "Tax_Code__c": tax[m],
        }

    o, r = slice(0, n_opp), slice(n_opp, h)
    raw = {
        "Account": accounts,
        "Contact": contacts,
        "Product2": products,
        "PricebookEntry": entries,
        "Opportunity": {
            "Id": h_ids[o],
            "SystemModstamp": stamps[o],
            "IsDeleted": deleted[o],
            "AccountId": h_account[o],
            "Name": [f"Deal {i}" for i in range(n_opp)],
            "StageName": stage[o],
            "CloseDate": close[o],
            "Amount": amount[o],
            "IsWon": won[o],
            "IsClosed": True,
            "CurrencyIsoCode": h_cur[o],
            "Sales_Region__c": region[o],
        },
        "OpportunityLineItem": items(opp_lines, "OpportunityId"),
        "Order": {
            "Id": h_ids[r],
            "SystemModstamp": stamps[r],
            "IsDeleted": False,
            "AccountId": h_account[r],
            "Status": np.where(won[r], "Activated", "Cancelled"),
            "EffectiveDate": close[r],
            "OrderNumber": order_number,
            "TotalAmount": amount[r],
            "CurrencyIsoCode": h_cur[r],
            "Sales_Region__c": region[r],
        },
        "OrderItem": items(~opp_lines, "OrderId"),
    }
    frames = {}
    for e in extracts(config):
        fields = list(dict.fromkeys(["Id", "SystemModstamp", "IsDeleted", *e.fields]))
        frames[e.object_name] = _extract_frame(raw[e.object_name], fields)
    item_codes = [c for c in codes if c and c != "SKU-NOT-IN-XERO"]
    xero = {
        t: {
            "organisation": [{"Name": f"Acme {t.upper()}", "BaseCurrency": base, "CountryCode": t.upper()}],
            "tax_rates": [{"TaxType": x, "Name": x, "Status": s, "EffectiveRate": v} for x, s, v in rates],
            "currencies": [{"Code": c} for c in [base, *others]],
            "tracking": [
                {
                    "Name": "Region",
                    "Status": "ACTIVE",
                    "TrackingCategoryID": f"{t}-region",
                    "Options": [
                        {"Name": x, "Status": "ACTIVE", "TrackingOptionID": f"{t}-{x}"} for x in REGIONS
                    ],
                }
            ],
            "accounts": [
                {"Code": c, "Name": c, "Type": "REVENUE", "Status": "ACTIVE"} for c in ("200", "260")
            ],
            "items": [{"Code": c, "ItemID": f"{t}-{c}", "Name": c, "IsSold": True} for c in item_codes],
        }
        for t, (base, others, rates) in XERO_ORGS.items()
    }
    sizes = {
        "headers": h,
        "opportunities": n_opp,
        "orders": h - n_opp,
        "lines_requested": lines,
        "lines": int(keep.sum()),  # less the lines of the planted headers without any
        "accounts": a,
        "products": p + 4,
    }
    return frames, xero, {"planted": planted, "sizes": sizes}


def p6_quality(result: Any, planted: dict[str, tuple[str, set[tuple[str, str | None]]]]) -> dict[str, Any]:
    """Rejects against the plants: every planted header with exactly its reasons (and line), no others."""
    rej = result.rejects
    got: dict[str, set[tuple[str, str | None]]] = {}
    for sf_id, code, line in zip(rej["sf_id"], rej["reason_code"], rej["line_id"], strict=True):
        got.setdefault(sf_id, set()).add((code, line if isinstance(line, str) else None))
    valid = set(result.valid["sf_id"])
    by_kind: dict[str, dict[str, int]] = {}
    for sf_id, (kind, want) in planted.items():
        row = by_kind.setdefault(kind, {"planted": 0, "exact": 0, "held_back": 0})
        row["planted"] += 1
        row["exact"] += got.get(sf_id) == want
        row["held_back"] += sf_id not in valid
    exact = sum(r["exact"] for r in by_kind.values())
    return {
        "planted_headers": len(planted),
        "rejected_exactly_as_planted": exact,
        "missed": sum(1 for x in planted if x not in got),
        "wrong_reason": sum(1 for x in planted if x in got and got[x] != planted[x][1]),
        "false_rejects": sum(1 for x in got if x not in planted),
        "by_kind": by_kind,
        "valid_headers": len(valid),
        "valid_lines": len(result.valid_lines) if result.valid_lines is not None else 0,
    }


def _p6_child(lines: int) -> dict[str, Any]:
    from sfxero_dagster.config import load_config
    from sfxero_dagster.core.validation import validate_invoices
    from sfxero_dagster.defs.salesforce.assets import ASSET_NAMES
    from sfxero_dagster.defs.staging.assets import stage_all, validation_inputs
    from sfxero_dagster.defs.xero.assets import reference_frames
    from sfxero_dagster.store.warehouse import Warehouse

    cfg = load_config(CONFIG)
    frames, xero, meta = p6_data(lines)
    with tempfile.TemporaryDirectory(prefix="sfxero-p6-") as tmp:
        wh = Warehouse(Path(tmp) / "warehouse.duckdb")
        for obj, df in frames.items():
            wh.replace(f"sf_{ASSET_NAMES[obj]}", df)
        ref_tables = [reference_frames(t, ref) for t, ref in xero.items()]
        for name in ref_tables[0]:
            wh.replace(name, pd.concat([r[name] for r in ref_tables], ignore_index=True))
        del frames, ref_tables

        def work() -> tuple[Any, dict[str, float]]:
            """What the staging multi-asset and then valid_invoices do, reads and writes included."""
            start = time.perf_counter()
            for name, df in stage_all(wh, cfg).items():
                wh.replace(name, df)
            staged, stage_peak = time.perf_counter(), _peak_mb()
            headers, lns, references = validation_inputs(wh)
            to_send = headers.loc[
                ~headers["is_deleted"].astype(bool)
                & ~headers["is_cancelled"].astype(bool)
                & ~headers["is_withdrawn"].astype(bool)
            ]
            result = validate_invoices(to_send, lns, references, cfg)
            wh.replace("valid_invoice_headers", result.valid)
            wh.replace("valid_invoice_lines", result.valid_lines)
            wh.replace("invoice_rejects", result.rejects)
            phases = {
                "stage_seconds": round(staged - start, 2),
                "validate_seconds": round(time.perf_counter() - staged, 2),
                "peak_rss_by_end_of_staging_mb": round(stage_peak, 1),  # the rest is validation's
                "lines_staged": len(lns),
                "headers_validated": len(to_send),
            }
            return result, phases

        (result, phases), figures = _measured(work)
    quality = p6_quality(result, meta["planted"])
    return {
        "benchmark": "P6 staging and validation",
        **meta["sizes"],
        **figures,
        **phases,
        "quality": quality,
        "target": P6_TARGET,
        "met": figures["seconds"] < P6_TARGET["seconds"]
        and quality["rejected_exactly_as_planted"] == quality["planted_headers"]
        and quality["false_rejects"] == 0,
    }


def p6(lines: int = 1_000_000) -> dict[str, Any]:
    """P6: stage and validate ``lines`` invoice lines from Salesforce extracts (fresh process; JSON-able)."""
    return _in_child("p6", lines)


# ----- CLI ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--p5-n", type=int, default=100_000, help="accounts and contacts (0 skips P5)")
    parser.add_argument("--p6-lines", type=int, default=1_000_000, help="invoice lines (0 skips P6)")
    parser.add_argument("--child", choices=["p5", "p6"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run = {"p5": _p5_child, "p6": _p6_child}[args.child]
        print(json.dumps(run(args.size)))
        return
    out: dict[str, Any] = {}
    if args.p5_n:
        out["p5"] = p5(args.p5_n)
    if args.p6_lines:
        out["p6"] = p6(args.p6_lines)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
