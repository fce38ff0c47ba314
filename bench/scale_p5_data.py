"""P5's synthetic data: company names, contact details and the planted ground truth of which Salesforce
account is which Xero contact; and the quality of a matching run against that truth."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

SEED = 9


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
