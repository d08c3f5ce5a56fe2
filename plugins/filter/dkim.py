# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters behind the sbs.postfix.dkim role: validation, OpenDKIM tables, DNS records (logic in
plugin_utils/_dkim.py, imported on the first call: plugin_utils/_lazy.py says why)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule, lazy_function

_DKIM = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._dkim")


class FilterModule:
    """DKIM, SPF and DMARC helpers for the dkim role."""

    def filters(self):
        return {
            "dkim_valid_selector": lazy_function(_DKIM, "dkim_valid_selector"),
            "dkim_valid_domain": lazy_function(_DKIM, "dkim_valid_domain"),
            "dkim_private_key_type": lazy_function(_DKIM, "dkim_private_key_type"),
            "dkim_record": lazy_function(_DKIM, "dkim_record"),
            "dkim_txt_split": lazy_function(_DKIM, "dkim_txt_split"),
            "dkim_zone_line": lazy_function(_DKIM, "dkim_zone_line"),
            "dkim_public_addresses": lazy_function(_DKIM, "dkim_public_addresses"),
            "dkim_spf_record": lazy_function(_DKIM, "dkim_spf_record"),
            "dkim_dmarc_record": lazy_function(_DKIM, "dkim_dmarc_record"),
            "dkim_policy_problems": lazy_function(_DKIM, "dkim_policy_problems"),
            "dkim_trusted_hosts": lazy_function(_DKIM, "dkim_trusted_hosts"),
            "dkim_config_errors": lazy_function(_DKIM, "dkim_config_errors"),
            "dkim_plan": lazy_function(_DKIM, "dkim_plan"),
            "dkim_supplied_keys": lazy_function(_DKIM, "dkim_supplied_keys"),
            "dkim_dns_records": lazy_function(_DKIM, "dkim_dns_records"),
        }
