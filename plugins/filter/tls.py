# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters behind the sbs.postfix.tls role (logic in plugin_utils/_tls.py, imported on the first
call: plugin_utils/_lazy.py says why)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule, lazy_function

_TLS = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._tls")


class FilterModule:
    """sbs.postfix TLS filters."""

    def filters(self):
        return {
            "tls_contribution": lazy_function(_TLS, "tls_contribution"),
            "tls_contribution_problems": lazy_function(_TLS, "tls_contribution_problems"),
            "tls_inspection": lazy_function(_TLS, "inspection"),
            "tls_inspection_paths": lazy_function(_TLS, "inspection_paths"),
            "tls_certificate_problems": lazy_function(_TLS, "certificate_problems"),
            "tls_certificate_files": lazy_function(_TLS, "certificate_files"),
            "tls_combined_pem": lazy_function(_TLS, "combined_pem"),
            "tls_selfsigned_names": lazy_function(_TLS, "selfsigned_names"),
            "tls_selfsigned_renewal": lazy_function(_TLS, "selfsigned_renewal"),
            "tls_certificate_facts": lazy_function(_TLS, "certificate_facts"),
            "tls_public_key_facts": lazy_function(_TLS, "public_key_facts"),
            "tls_private_key_facts": lazy_function(_TLS, "private_key_facts"),
            "tls_certificate_summary": lazy_function(_TLS, "certificate_summary"),
            "tls_protocol_errors": lazy_function(_TLS, "tls_protocol_errors"),
            "tls_protocols_enabled": lazy_function(_TLS, "tls_protocols_enabled"),
            "tls_session_cache_type": lazy_function(_TLS, "session_cache_type"),
            "tls_postfix_version": lazy_function(_TLS, "postfix_version"),
        }
