"""Generated worlds over the whole pipeline: the seeded org plus perturbations, synced on the sandboxes,
and after every sync the money-path invariants (see invariants.py) and a rerun that writes nothing.

``make test`` runs the fast profile (a few worlds); ``make soak`` the long one (``-m slow``). The session
ends with a line saying how many worlds, syncs and perturbations were tried.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import InvalidArgument

from ..defs.conftest import World
from .invariants import check, foreign_contacts, read_state
from .perturbations import AFTER_PUSH, DATA, Perturbation, apply, perturbations
from .world import api_writes, clear_logs, failed_invariant_checks, fresh_world, sync

_COMMON = {
    "deadline": None,
    # every world is generated afresh and a failure prints its reproduction blob; a directory in
    # SFXERO_GENERATIVE_DB keeps failing examples to replay first next time (while fixing one)
    "database": DirectoryBasedExampleDatabase(os.environ["SFXERO_GENERATIVE_DB"])
    if os.environ.get("SFXERO_GENERATIVE_DB")
    else None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
# A world costs about half a minute (a copy of the prepared org, three syncs): the fast profile keeps
# the suite within `make test`'s budget; no shrinking there (a failure prints the example as it is).
settings.register_profile(
    "sfxero-fast",
    max_examples=int(os.environ.get("SFXERO_GENERATIVE_FAST", "2")),
    phases=[Phase.explicit, Phase.generate],
    **_COMMON,
)
settings.register_profile(
    "sfxero-soak",
    max_examples=int(os.environ.get("SFXERO_GENERATIVE_SOAK", "30")),
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    **_COMMON,
)

BEFORE = st.lists(perturbations(DATA), min_size=1, max_size=4)
AFTER = st.lists(perturbations(DATA + AFTER_PUSH), min_size=1, max_size=4)


def _note(text: str) -> None:
    """Shown with a failing example; printed when a world is run outside hypothesis (a regression test)."""
    try:
        note(text)
    except InvalidArgument:
        print(text)


def judged_sync(world: World, foreign: dict[str, dict], label: str, rerun: bool) -> None:
    """One sync and the invariants over what it left; then (``rerun``) a sync that must write nothing."""
    before = read_state(world)
    results = sync(world)
    after = read_state(world)
    bad = check(world, after, before, foreign) + failed_invariant_checks(results)
    if rerun:
        clear_logs(world)
        results = sync(world)
        xero, salesforce = api_writes(world)
        if xero or salesforce:
            bad.append(
                f"(f) the rerun wrote: Xero {xero[:5]} ({len(xero)}), "
                f"Salesforce {salesforce[:5]} ({len(salesforce)})"
            )
        bad += check(world, read_state(world), after, foreign) + failed_invariant_checks(results)
    assert not bad, f"{label}:\n" + "\n".join(bad)


def run_world(template: Path, before: list, after: list, rerun_each: bool) -> None:
    """Perturb, sync and judge; perturb again (now with state changes under pushed invoices), sync, judge,
    and rerun. ``rerun_each`` also reruns after the first sync (the soak; the fast profile saves that sync)."""
    with fresh_world(template) as world:
        foreign = foreign_contacts(read_state(world))  # nothing pushed yet: every contact is theirs
        for p in before:
            _note(apply(world, p, pushed=False) or f"{p}: no target")
        judged_sync(world, foreign, "after the first push", rerun=rerun_each)
        for p in after:
            _note(apply(world, p, pushed=True) or f"{p}: no target")
        judged_sync(world, foreign, "after the changes following the push", rerun=True)


# Every kind once, in one world, on every run (hypothesis' explicit example, besides the generated ones).
EVERY_KIND = {
    "before": [
        Perturbation("country", 7, 0),  # 'UK'
        Perturbation("country", 9, 11),  # 'Narnia'
        Perturbation("currency", 11, 1),
        Perturbation("name_case", 13, 2),
        Perturbation("name_space", 15, 1),
        Perturbation("name_punct", 17, 2),
        Perturbation("name_suffix", 19, 3),
    ],
    "after": [
        Perturbation("reopen", 1, 0),
        Perturbation("lose", 2, 0),
        Perturbation("delete", 3, 0),
        Perturbation("reroute", 4, 1),  # and the lines take the new organisation's tax code
        Perturbation("reparent", 5, 3),
        Perturbation("pay_edit", 6, 0),
        Perturbation("reroute", 8, 0),
        Perturbation("name_suffix", 1, 1),
    ],
}


# One test item runs every world of its profile: pytest-timeout's 300 s default is per item, not world.
@pytest.mark.timeout(900)
@settings(settings.get_profile("sfxero-fast"))
@example(**EVERY_KIND)
@given(before=BEFORE, after=AFTER)
def test_generated_worlds_keep_the_invariants(prepared_template: Path, before, after) -> None:
    run_world(prepared_template, before, after, rerun_each=False)


@pytest.mark.slow
@pytest.mark.timeout(0)
@pytest.mark.parametrize("half", [1, 2])  # two independent halves, one per xdist worker
@settings(settings.get_profile("sfxero-soak"))
@example(**EVERY_KIND)
@given(before=BEFORE, after=AFTER)
def test_generated_worlds_keep_the_invariants_soak(prepared_template: Path, half: int, before, after) -> None:
    run_world(prepared_template, before, after, rerun_each=True)
