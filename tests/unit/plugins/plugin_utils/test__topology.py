# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The topology role's plan: layouts from groups, addresses from the inventory, the
contribution each layout hands the server role, and every bad input named by its variable."""

from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import merge_main
from ansible_collections.sbs.postfix.plugins.plugin_utils._topology import (
    client_table_key,
    inline_table,
    layout_of,
    peer_address,
    topology_plan,
)

GROUPS = {"frontend": "mail_frontend", "backend": "mail_backend", "backup_mx": "mail_backup_mx"}
# roles/topology/defaults/main.yml with the topology scenario's domains and users.
SETTINGS = {
    "topology_layout": None,
    "topology_groups": GROUPS,
    "topology_smtp_port": 25,
    "topology_domains": ["example.test"],
    "topology_recipients": ["alice@example.test", "bob@example.test"],
    "topology_backup_queue_lifetime": "10d",
    "topology_backup_minimal_backoff_time": "60s",
    "topology_backup_maximal_backoff_time": "300s",
    "topology_backup_queue_run_delay": "60s",
    "topology_backend_clients": [],
    "topology_lmtp_maxproc": None,
}
# The scenario's inventory: Molecule's podman connection names the container in ansible_host.
PEERS = {
    "frontend": [
        {
            "host": "topology-front",
            "topology_address": "10.89.17.11",
            "ansible_host": "topology-front",
        }
    ],
    "backend": [
        {
            "host": "topology-back",
            "topology_address": "10.89.17.12",
            "ansible_host": "topology-back",
        }
    ],
    "backup_mx": [
        {
            "host": "topology-backup",
            "topology_address": "10.89.17.13",
            "ansible_host": "topology-backup",
        }
    ],
}


# The part of the server role's SBS defaults the merge checks the relay safety with.
DEFAULTS = {
    "mynetworks": ["127.0.0.0/8"],
    "smtpd_relay_restrictions": [
        "permit_mynetworks",
        "permit_sasl_authenticated",
        "reject_unauth_destination",
    ],
}


def plan(group, peers=None, tuning=None, **changes):
    peers = PEERS if peers is None else peers
    return topology_plan({**SETTINGS, **changes}, [group, "mail"], peers, tuning)


def test_no_layout_contributes_nothing():
    result = plan("mail")
    assert result["layout"] is None
    assert result["problems"] == []
    assert result["contribution"] == {}


def test_frontend_relays_the_domains_to_every_backend_and_etrns_the_backups():
    peers = {
        **PEERS,
        "backend": PEERS["backend"] + [{"host": "store2", "topology_address": "2001:db8::2"}],
    }
    result = plan("mail_frontend", peers=peers)
    assert result["problems"] == []
    contribution = result["contribution"]
    assert contribution["main_required"]["relay_domains"] == ["example.test"]
    assert contribution["main_required"]["relay_recipient_maps"] == [
        "inline:{alice@example.test=OK,bob@example.test=OK}"
    ]
    # Two next hops: the entry is braced, because its value holds a comma.
    assert contribution["main_append"]["transport_maps"] == [
        "inline:{{example.test=relay:[10.89.17.12]:25,[ipv6:2001:db8::2]:25}}"
    ]
    assert result["etrn"] == [{"address": "10.89.17.13", "port": 25}]


def test_backup_mx_queues_for_the_primary_and_lets_only_it_etrn():
    result = plan("mail_backup_mx")
    assert result["problems"] == []
    required = result["contribution"]["main_required"]
    assert required["smtpd_etrn_restrictions"] == [
        "permit_mynetworks",
        "check_client_access inline:{10.89.17.11=OK}",
        "reject",
    ]
    assert required["fast_flush_domains"] == ["$relay_domains"]
    assert result["contribution"]["main_append"]["transport_maps"] == [
        "inline:{example.test=relay:[10.89.17.11]:25}"
    ]
    assert result["contribution"]["main"] == {
        "maximal_queue_lifetime": "10d",
        "minimal_backoff_time": "60s",
        "maximal_backoff_time": "300s",
        "queue_run_delay": "60s",
    }


def test_backend_accepts_from_frontends_and_delivers_to_dovecot_lmtp():
    result = plan(
        "mail_backend", tuning=8, topology_backend_clients=["192.0.2.0/24", "198.51.100.7"]
    )
    assert result["problems"] == []
    required = result["contribution"]["main_required"]
    assert required["virtual_transport"] == "lmtp:unix:private/dovecot-lmtp"
    assert required["smtpd_client_restrictions"] == [
        "permit_mynetworks",
        "check_client_access inline:{10.89.17.11=OK}",
        "check_client_access inline:{192.0.2=OK}",
        "check_client_access inline:{198.51.100.7=OK}",
        "reject",
    ]
    # Sized by the tuning role: the destination limit follows, maxproc stays tuning's.
    assert result["contribution"]["main"] == {"lmtp_destination_concurrency_limit": 8}
    assert "master" not in result["contribution"]
    assert result["backend"]["lmtp_process_limit"] == 8


def test_backend_maxproc_from_the_inventory_without_tuning():
    result = plan("mail_backend", topology_lmtp_maxproc=12)
    assert result["contribution"]["master"] == {"lmtp/unix": {"maxproc": 12}}
    assert result["contribution"]["main"]["lmtp_destination_concurrency_limit"] == 12


def test_the_contribution_merges_into_main_cf():
    """What the server role renders from the backup's contribution (the same merge it runs)."""
    contribution = plan("mail_backup_mx")["contribution"]
    main = merge_main({}, {}, {"topology": contribution}, DEFAULTS).as_dict()
    assert main["parameters"]["smtpd_etrn_restrictions"] == (
        "permit_mynetworks, check_client_access inline:{10.89.17.11=OK}, reject"
    )


@pytest.mark.parametrize(
    ("group", "changes", "peers", "expected"),
    [
        ("mail_backup_mx", {"topology_domains": []}, PEERS, "topology_domains: empty"),
        ("mail_backup_mx", {"topology_recipients": []}, PEERS, "topology_recipients: empty"),
        (
            "mail_frontend",
            {},
            {**PEERS, "backend": []},
            "topology_groups.backend: group 'mail_backend' has no hosts",
        ),
        (
            "mail_backup_mx",
            {},
            {**PEERS, "frontend": []},
            "topology_groups.frontend: group 'mail_frontend' has no hosts",
        ),
        (
            "mail_backend",
            {"topology_backend_clients": ["0.0.0.0/0"]},
            PEERS,
            "topology_backend_clients[0]: 0.0.0.0/0 lets",
        ),
        (
            "mail_backend",
            {"topology_backend_clients": ["::/0"]},
            PEERS,
            "topology_backend_clients[0]: ::/0 lets",
        ),
        (
            "mail_backend",
            {"topology_backend_clients": ["10.0.0.0/12"]},
            PEERS,
            "topology_backend_clients[0]: 10.0.0.0/12 is not",
        ),
        (
            "mail_backend",
            {"topology_lmtp_maxproc": "many"},
            PEERS,
            "topology_lmtp_maxproc: 'many' must be",
        ),
        ("mail_backend", {"topology_lmtp_maxproc": 0}, PEERS, "topology_lmtp_maxproc: 0 must be"),
        (
            "mail_backend",
            {"topology_recipients": ["carol@example.org"]},
            PEERS,
            "topology_recipients[0]: carol@example.org is not in",
        ),
        (
            "mail_backend",
            {"topology_domains": ["example.test", "bad_domain"]},
            PEERS,
            "topology_domains[1]: 'bad_domain'",
        ),
        (
            "mail_backup_mx",
            {"topology_backup_queue_lifetime": "ten days"},
            PEERS,
            "topology_backup_queue_lifetime: 'ten days'",
        ),
        (
            "mail_frontend",
            {"topology_layout": "gateway"},
            PEERS,
            "topology_layout: 'gateway' must be",
        ),
        (
            "mail_backup_mx",
            {},
            {**PEERS, "frontend": [{"host": "mx1.example.com", "ansible_host": "mx1.example.com"}]},
            "topology_address: the front-ends mx1.example.com have no IP address",
        ),
    ],
)
def test_bad_input_is_named(group, changes, peers, expected):
    problems = plan(group, peers=peers, **changes)["problems"]
    assert any(p.startswith(expected) for p in problems), problems


def test_tuning_and_inventory_disagree_on_maxproc():
    problems = plan("mail_backend", tuning=8, topology_lmtp_maxproc=16)["problems"]
    assert problems and problems[0].startswith("topology_lmtp_maxproc: 16 differs")


def test_host_in_two_layout_groups():
    layout, problems = layout_of(SETTINGS, ["mail_frontend", "mail_backup_mx"])
    assert layout is None
    assert problems[0].startswith("topology_groups: the host is in mail_frontend, mail_backup_mx")


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ({"host": "a", "topology_address": "192.0.2.1", "ansible_host": "10.0.0.1"}, "192.0.2.1"),
        ({"host": "a", "topology_address": None, "ansible_host": "10.0.0.1"}, "10.0.0.1"),
        ({"host": "a", "topology_address": None, "ansible_host": "a.example.com"}, "a"),
        ({"host": "a", "topology_address": "mx.example.com"}, "mx.example.com"),
        # Molecule's podman connection: ansible_host is the container, the facts know the address.
        ({"host": "a", "ansible_host": "topology-front", "fact_address": "10.89.0.2"}, "10.89.0.2"),
    ],
)
def test_peer_address(peer, address):
    assert peer_address(peer) == address


def test_inline_table_braces_values_with_commas():
    assert inline_table([("a", "x"), ("b", "y, z")]) == "inline:{a=x,{b=y, z}}"


def test_client_table_key():
    import ipaddress

    assert client_table_key(ipaddress.ip_network("10.1.0.0/16")) == "10.1"
    assert client_table_key(ipaddress.ip_network("10.1.2.3/32")) == "10.1.2.3"
