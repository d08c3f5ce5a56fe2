# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the server role brings a change to the running Postfix: one action at the most.

Private to the sbs.postfix collection: not a public API, may change without notice.

The server role alone owns Postfix's running state (docs/handoff.md). At its end it combines
what ``sbs.postfix.config`` reports about main.cf/master.cf, what ``sbs.postfix.runtime_info``
finds in force that only a restart fixes (the listen backlog), and what the contributing roles
ask for in their ``apply`` key, and performs one action: restart if anything needs a restart,
else reload if anything changed, else nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESTART = "restart"
RELOAD = "reload"
NONE = "none"
# What ansible.builtin.systemd_service's `state` is for each action.
_STATES = {RESTART: "restarted", RELOAD: "reloaded", NONE: None}
_REQUEST_KINDS = (RESTART, RELOAD)


class ApplyError(ValueError):
    """A contribution's `apply` request is malformed; the message names where."""


@dataclass
class ApplyPlan:
    """The one action the server role performs, and every reason behind it."""

    action: str = NONE
    restart_reasons: list = field(default_factory=list)
    reload_reasons: list = field(default_factory=list)
    note: str = ""

    @property
    def reasons(self):
        """The reasons of the chosen action (a restart also applies every reload reason)."""
        if self.action == RESTART:
            return self.restart_reasons + self.reload_reasons
        if self.action == RELOAD:
            return self.reload_reasons
        return [self.note] if self.note else []

    def as_dict(self):
        return {
            "action": self.action,
            "state": _STATES[self.action],
            "reasons": self.reasons,
            "restart_reasons": list(self.restart_reasons),
            "reload_reasons": list(self.reload_reasons),
        }


def _as_texts(where, value):
    """A request is one sentence or a list of them; anything else is refused."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ApplyError(
            f"{where}: {value!r} is not a reason; allowed: a non-empty string or a list of them"
        )
    return [i.strip() for i in items]


def contribution_requests(contributions):
    """``{restart: [...], reload: [...]}`` from every contribution's ``apply`` key.

    Each reason is prefixed with the contributor's name, so the play says who asked.
    """
    requests = {RESTART: [], RELOAD: []}
    for name in sorted(contributions or {}):
        wanted = (contributions[name] or {}).get("apply")
        if wanted is None:
            continue
        where = f"sbs_postfix_contributions.{name}.apply"
        if not isinstance(wanted, dict):
            raise ApplyError(
                f"{where}: {wanted!r} is not a dictionary; allowed keys: restart, reload"
            )
        unknown = sorted(set(wanted) - set(_REQUEST_KINDS))
        if unknown:
            raise ApplyError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: restart, reload"
            )
        for kind in _REQUEST_KINDS:
            if wanted.get(kind) is None:
                continue
            for text in _as_texts(f"{where}.{kind}", wanted[kind]):
                requests[kind].append(f"{text} ({name})")
    return requests


def apply_plan(config, contributions=None, started=False, in_force_restart=None):
    """Decide the one action that puts the new configuration in force.

    :param config: the registered result of ``sbs.postfix.config`` (``changed``,
        ``restart_required``, ``restart_reasons``, ``changed_parameters``).
    :param contributions: ``sbs_postfix_contributions``; their ``apply`` requests count.
    :param started: Postfix was not running and the role started it in this run: that start
        read the new files and the new limits, so nothing else is needed.
    :param in_force_restart: reasons, found on the running system, that only a restart fixes
        (``runtime_info``'s ``restart_reasons``: a listen backlog left by an interrupted run).
    """
    config = config or {}
    requests = contribution_requests(contributions)
    plan = ApplyPlan()
    if config.get("changed"):
        if config.get("restart_required"):
            plan.restart_reasons.extend(config.get("restart_reasons") or [])
        changed = config.get("changed_parameters") or []
        plan.reload_reasons.append(
            "main.cf/master.cf changed: " + (", ".join(changed) if changed else "comments only")
        )
    plan.restart_reasons.extend(in_force_restart or [])
    plan.restart_reasons.extend(requests[RESTART])
    plan.reload_reasons.extend(requests[RELOAD])
    if started:
        plan.note = "Postfix was not running; it started with the new configuration"
        plan.action = NONE
    elif plan.restart_reasons:
        plan.action = RESTART
    elif plan.reload_reasons:
        plan.action = RELOAD
    return plan


def applied_configuration(main, master):
    """What the server role made live, in the shape verifiers compare with.

    :param main: the merged main.cf parameters ``{name: rendered text}``.
    :param master: the merged master.cf services (dicts with ``name``, ``type``, ``maxproc``...).
    :returns: ``{"main": {name: text}, "master": {"name/type": {"maxproc": text}}}``: the
        fields a running Postfix shows (``postconf``, ``postconf -M``) and verifiers compare.
    """
    return {
        "main": dict(main or {}),
        "master": {
            f"{svc['name']}/{svc['type']}": {"maxproc": str(svc.get("maxproc", "-"))}
            for svc in master or []
        },
    }
