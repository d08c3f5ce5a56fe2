# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that turn the server role's variables into Postfix's configuration.

Thin wrappers: the logic lives in plugins/plugin_utils/_main_cf.py (main.cf values and merge),
_master_cf.py (master.cf services, submission and smtps) and _stock_master_cf.py (Debian's
stock master.cf). Each filter's manual is its YAML file beside this one (ansible-doc -t filter).
Every refusal names the variable that caused it and what is allowed instead, because the role
calls these before it changes anything on a host. The checks of the inventory as a whole
(``postfix_main``, ``postfix_master``, ``postfix_interface_problems``) return every problem
instead of raising the first: a role reports all of them in one run, in its own words, rather
than one at a time inside Ansible's "the filter plugin failed" message. The others raise an
``AnsibleFilterError``.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyFunction, LazyModule

# Imported on the first call (plugin_utils/_lazy.py says why).
_MAIN_CF = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf")
_MASTER_CF = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf")
_STOCK_MASTER_CF = LazyModule(
    "ansible_collections.sbs.postfix.plugins.plugin_utils._stock_master_cf"
)


class _Filter(LazyFunction):
    """A plugin_utils function run as a filter: its ConfigError becomes AnsibleFilterError."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except _MAIN_CF.ConfigError as exc:
            raise AnsibleFilterError(str(exc)) from None


postfix_value = _Filter(_MAIN_CF, "render_value")
postfix_duration = _Filter(_MAIN_CF, "render_duration")
postfix_mynetworks = _Filter(_MAIN_CF, "mynetworks")
postfix_host_addresses = _Filter(_MAIN_CF, "facts_addresses")
postfix_interface_problems = _Filter(_MAIN_CF, "interface_problems")
postfix_interface_names = _Filter(_MAIN_CF, "interface_names")
postfix_master_lines = _Filter(_MASTER_CF, "service_lines")
postfix_master_option = _Filter(_MASTER_CF, "render_option")
postfix_listen_backlog = _Filter(_MASTER_CF, "service_listen_backlog")
postfix_sasl_backends = _Filter(_MASTER_CF, "sasl_backends")
postfix_sasl_problem = _Filter(_MASTER_CF, "sasl_problem")
postfix_submission_services = _Filter(_MASTER_CF, "submission_services")
postfix_stock_services = _Filter(_STOCK_MASTER_CF, "stock_services")


def postfix_main(admin, extra=None, contributions=None, defaults=None, variables=None):
    """``{parameters, sources, variables, reasons, notes, problems}`` of the merged main.cf;
    with problems, the rest is empty (there is no main.cf to write)."""
    try:
        merged = _MAIN_CF.merge_main(admin, extra, contributions, defaults, variables).as_dict()
    except _MAIN_CF.ConfigError as exc:
        return {
            "parameters": {},
            "sources": {},
            "variables": {},
            "reasons": {},
            "notes": {},
            "problems": exc.problems,
        }
    return {**merged, "problems": []}


def postfix_master(defaults, services=None, overrides=None, contributions=None, optional=None):
    """``{services, problems}``: the merged master.cf services as dictionaries, none when
    there are problems."""
    try:
        merged = _MASTER_CF.merge_master(defaults, services, overrides, contributions, optional)
    except _MAIN_CF.ConfigError as exc:
        return {"services": [], "problems": exc.problems}
    return {"services": [service.as_dict() for service in merged], "problems": []}


class FilterModule:
    """Filters that render and check Postfix configuration for sbs.postfix."""

    def filters(self):
        return {
            "postfix_value": postfix_value,
            "postfix_duration": postfix_duration,
            "postfix_mynetworks": postfix_mynetworks,
            "postfix_main": postfix_main,
            "postfix_master": postfix_master,
            "postfix_master_lines": postfix_master_lines,
            "postfix_master_option": postfix_master_option,
            "postfix_listen_backlog": postfix_listen_backlog,
            "postfix_host_addresses": postfix_host_addresses,
            "postfix_interface_problems": postfix_interface_problems,
            "postfix_interface_names": postfix_interface_names,
            "postfix_submission_services": postfix_submission_services,
            "postfix_sasl_backends": postfix_sasl_backends,
            "postfix_sasl_problem": postfix_sasl_problem,
            "postfix_stock_services": postfix_stock_services,
        }
