# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which systems the collection is tested on, in one place for every role.

Private to the sbs.postfix collection: not a public API, may change without notice.
"""

from __future__ import annotations

# Distribution -> major versions every Molecule scenario runs on (docs/index.md says so).
TESTED = {"Debian": ("12", "13")}
ALLOW_VARIABLE = "sbs_postfix_allow_untested_os"


def _tested_text():
    return ", ".join(f"{name} {' and '.join(versions)}" for name, versions in TESTED.items())


def platform_problem(facts, allow_untested=False, role="sbs.postfix"):
    """A message when the host is not a tested system, else an empty string.

    :param facts: ``ansible_facts`` (needs ``distribution`` and ``distribution_major_version``).
    :param allow_untested: the admin's ``sbs_postfix_allow_untested_os``.
    """
    facts = facts or {}
    name = facts.get("distribution") or "an unknown system"
    major = str(facts.get("distribution_major_version") or "")
    if major in TESTED.get(name, ()):
        return ""
    if allow_untested:
        return ""
    family = facts.get("os_family")
    return (
        f"{role} is tested on {_tested_text()} only; this host runs {name} {major}".rstrip()
        + (f" ({family} family)" if family else "")
        + f". Nothing was changed. Set {ALLOW_VARIABLE}: true to run it on an untested system "
        "at your own risk."
    )


def platform_is_tested(facts):
    """True when the host is one of the tested systems."""
    facts = facts or {}
    return str(facts.get("distribution_major_version") or "") in TESTED.get(
        facts.get("distribution"), ()
    )
