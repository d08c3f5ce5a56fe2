#!/usr/bin/python
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: runtime_info
short_description: Read what a running Postfix has in force, and what only a restart would change
version_added: 0.1.0
description:
  - Reads, in one call, what the running system has in force for Postfix, where roles would
    otherwise slurp C(/proc) files and parse them in Jinja.
  - "From the running system: the master's PID (C(<queue_directory>/pid/master.pid), trusted
    only when C(/proc/<pid>) is the running C(master)), its open-file limits
    (C(/proc/<pid>/limits)), the systemd unit that runs it (C(systemctl show)), the listen
    backlog of every inet listener (C(ss -Hltn)), and kernel settings (C(/proc/sys))."
  - From the configuration files, through C(postconf -c), main.cf parameters and master.cf
    services. The master applies these on C(postfix reload), so they are what is in force
    after a reload (the config module says which changes need a restart instead).
  - With O(expect), compares all of it with what the caller expects and says, for each
    difference, what puts the expected value in force (RV(runtime.mismatches)), and why a
    restart is needed (RV(runtime.restart_reasons)); the master's open-file limit and an inet
    listener's backlog are fixed when the master starts or opens the socket, and a reload
    keeps them.
  - "With O(files), O(contents) and O(units), it also reads the state of files, the text of
    small public files and the state of systemd units, so that a role reads everything it
    decides on in this one call, renders on the controller, and calls a writing module only for
    what differs. Each module call costs controller CPU (about 0.1 s over SSH); reading a file
    here costs almost none."
  - Never changes anything. Works on a host where Postfix is not installed or not running
    (RV(runtime.installed) or RV(runtime.running) false) and on one without systemd
    (RV(runtime.unit) null).
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  service:
    description:
      - The systemd unit that runs Postfix's master(8), with or without C(.service), V(postfix@-)
        on Debian 12, V(postfix) on Debian 13.
      - When omitted, the unit is taken from the running master's C(/proc/<pid>/cgroup); when
        Postfix is not running either, RV(runtime.unit) is null.
    type: str
  config_directory:
    description: The Postfix configuration directory read with C(postconf -c).
    type: path
    default: /etc/postfix
  parameters:
    description:
      - main.cf parameters to read. Returned in RV(runtime.parameters) as C(postconf) prints
        them (the value in main.cf, or Postfix's default; C($name) references are not
        expanded).
      - The parameters named in O(expect) are read as well.
    type: list
    elements: str
    default: []
  services:
    description:
      - master.cf services to read, as C(name/type) (V(smtp/inet), V(submission/inet),
        V(smtp/unix)), returned in RV(runtime.services).
      - The services named in O(expect) are read as well.
    type: list
    elements: str
    default: []
  sysctl:
    description:
      - Kernel settings to read from C(/proc/sys), by their sysctl name
        (V(net.core.somaxconn)), returned in RV(runtime.sysctl).
      - The keys named in O(expect) are read as well.
    type: list
    elements: str
    default: []
  packages:
    description:
      - Debian packages whose installed version to return in RV(runtime.packages), so a role
        installs packages only when one is missing instead of calling the package manager on
        every run.
    type: list
    elements: str
    default: []
  debconf:
    description:
      - Debian packages whose debconf answers to return in RV(runtime.debconf)
        (C(debconf-show)), so a role sets an answer only when it differs.
    type: list
    elements: str
    default: []
  files:
    description:
      - Absolute paths whose state to return in RV(runtime.files), that is whether each exists,
        its type, mode, owner, group, size and, for a regular file, its sha1 (the digest
        M(ansible.builtin.stat) returns as C(checksum) and M(ansible.builtin.copy) and
        M(ansible.builtin.template) compare), so a role writes a file only when
        C(runtime.files[path].sha1 != content | hash('sha1')) or its mode or owner differs.
      - Symbolic links are followed, so what is returned is the target's state, the file
        M(ansible.builtin.template) and M(ansible.builtin.copy) write through with C(follow=true)
        (with their default C(follow=false) they replace the link with a file).
      - A relative path is refused (nothing is read). The paths are returned as given.
    type: list
    elements: str
    default: []
  contents:
    description:
      - Absolute paths of small PUBLIC files whose text to return in RV(runtime.contents), such
        as a DKIM public key record (C(.txt)) or a certificate, decoded as UTF-8 (undecodable
        bytes replaced).
      - Never name a secret here (a private key, a password map, C(sasl_passwd)). The text is
        part of the module's result, which C(-v) prints and a callback or C(register) may keep.
        Compare secrets with O(files) (C(sha1)) instead.
      - A file larger than 64 KiB (65536 bytes), or one that is not a regular file or cannot be
        read, is null, with a warning. A relative path is refused (nothing is read).
    type: list
    elements: str
    default: []
  public_keys:
    description:
      - Absolute paths of private key files whose PUBLIC half to return in
        RV(runtime.public_keys), from C(openssl pkey -pubout) on the host, so a role publishes
        the DNS record of the key the host signs with (DKIM) without a second call and without
        the private key leaving the host.
      - A missing file is null (a key still to be generated). A relative path is refused.
    type: list
    elements: str
    default: []
  units:
    description:
      - systemd units whose state to return in RV(runtime.units), read with one
        C(systemctl show) for all of them. A name without a suffix means a service
        (V(opendkim) is C(opendkim.service)); each is returned under the name given.
      - So a role starts, enables or restarts a unit only when it is not already in that state.
    type: list
    elements: str
    default: []
  capabilities:
    description:
      - Also return what the installed Postfix supports in RV(runtime.postfix), that is its
        version, the parameter names it knows and its lookup table types. Works before main.cf
        exists.
    type: bool
    default: false
  expect:
    description:
      - What should be in force. When given (even as V({})), RV(runtime.mismatches) and
        RV(runtime.restart_reasons) are returned.
      - "C(nofile): the open-file limit (file descriptors) the master should run with, as the
        unit's C(LimitNOFILE) sets it. Compared with the hard limit in C(/proc/<pid>/limits)
        (fix: restart) and with the limit systemd has loaded for the unit (fix: daemon-reload)."
      - "C(sysctl): C({key: value}), compared with C(/proc/sys) (whitespace collapsed; fix:
        none, apply the kernel setting)."
      - "C(parameters): C({name: value}), compared with C(postconf) (whitespace collapsed;
        YAML booleans mean C(yes)/C(no); fix: none, apply the configuration)."
      - "C(services): C({\"name/type\": {field: value}}) with the fields C(maxproc) (or
        C(process_limit)), C(private), C(unprivileged) (or C(unpriv)), C(chroot), C(wakeup),
        C(command), compared as written in master.cf (V(-) only matches V(-); fix: none)."
      - The listen backlog of every inet listener is compared with master(8)'s rule,
        max(maxproc, C(default_process_limit)) capped by C(net.core.somaxconn), taking
        C(default_process_limit), the service's C(maxproc) and C(net.core.somaxconn) from
        O(expect) where it gives them and from the configuration and C(/proc/sys) otherwise
        (fixed by a restart).
    type: dict
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Read-only; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
requirements:
  - Linux (C(/proc)). C(postconf) (Postfix), C(systemctl) (systemd) and C(ss) (iproute2) when
    available; what a missing one would have read is null or empty.
  - Root privileges (C(become)) to read the state or the sha1 of files only root can read.
  - Root privileges (C(become)) to read another user's C(/proc/<pid>/limits) on hosts that
    mount C(/proc) with C(hidepid).
notes:
  - C(ss) prints the backlog of a listening socket as Send-Q (the kernel's maximum accept
    queue length) and the connections waiting in it as Recv-Q. The tuning role and the config
    module use the same listen backlog rule (C(listen_backlog) in
    C(plugins/module_utils/_postfix_config.py)).
  - systemd does not set C(NeedDaemonReload) for a drop-in in a directory that did not exist
    when it last loaded its units, so the module also lists the drop-in files on disk
    (C(/etc/systemd/system), C(/run/systemd/system), C(/usr/local/lib/systemd/system),
    C(/usr/lib/systemd/system), C(/lib/systemd/system); the unit's, its template's and
    C(service.d)) and reports those not in C(DropInPaths).
seealso:
  - module: sbs.postfix.config
  - module: sbs.postfix.sizing_info
  - name: master(8)
    description: The Postfix master process, which opens the inet listeners.
    link: https://www.postfix.org/master.8.html
"""

EXAMPLES = r"""
- name: Read what Postfix has in force against what the roles rendered
  sbs.postfix.runtime_info:
    service: postfix@-
    parameters: [default_process_limit, smtpd_client_connection_count_limit]
    services: [smtp/inet]
    sysctl: [net.core.somaxconn]
    expect:
      nofile: 8192
      sysctl:
        net.core.somaxconn: 4096
      parameters:
        default_process_limit: 250
      services:
        smtp/inet:
          maxproc: 250
  register: postfix_runtime

- name: Restart Postfix once, saying why, when something only a restart changes is not in force
  ansible.builtin.systemd_service:
    name: postfix@-
    state: restarted
    daemon_reload: "{{ postfix_runtime.runtime.daemon_reload_needed }}"
  when: postfix_runtime.runtime.restart_reasons | length > 0

- name: Prove everything expected is in force
  ansible.builtin.assert:
    that: postfix_runtime.runtime.mismatches | length == 0
    fail_msg: "{{ postfix_runtime.runtime.mismatches }}"

- name: Only look, with no expectation (is Postfix running, and with which limits?)
  sbs.postfix.runtime_info:
  register: postfix_runtime

# A role that reads once and writes only what differs: one read-only call, then a writing
# module only for the file whose content, mode or owner is not what the role renders.
- name: Read the files and the unit this role manages
  sbs.postfix.runtime_info:
    files: [/etc/opendkim.conf, /etc/opendkim/keys]
    contents: [/etc/opendkim/keys/example.org/sel2026.txt]
    units: [opendkim]
  register: dkim_state

- name: Write opendkim.conf only when it differs
  vars:
    wanted: "{{ lookup('ansible.builtin.template', 'etc/opendkim.conf.j2') }}"
    have: "{{ dkim_state.runtime.files['/etc/opendkim.conf'] }}"
  ansible.builtin.copy:
    content: "{{ wanted }}"
    dest: /etc/opendkim.conf
    owner: root
    group: root
    mode: "0644"
  when: >-
    have.sha1 != wanted | hash('sha1')
    or have.mode != '0644' or have.owner != 'root' or have.group != 'root'
  notify: Restart opendkim

- name: Start opendkim only when it is not running
  ansible.builtin.systemd_service:
    name: opendkim
    state: started
    enabled: true
  when: >-
    dkim_state.runtime.units.opendkim.active != 'active'
    or dkim_state.runtime.units.opendkim.enabled != 'enabled'
"""

RETURN = r"""
runtime:
  description: What is in force. Nothing is left out when it cannot be read; it is null instead.
  returned: always
  type: dict
  contains:
    installed:
      description: Whether C(postconf) is installed (Postfix's files could be read).
      type: bool
      sample: true
    configured:
      description:
        - Whether the installed Postfix has a C(main.cf) in O(config_directory). Without one
          (installed with debconf's C(No configuration)), RV(runtime.parameters) are Postfix's
          defaults (C(postconf -d)) and no master.cf service is read.
      type: bool
      sample: true
    running:
      description: Whether Postfix's master(8) is running (a live PID in C(master.pid)).
      type: bool
      sample: true
    master_pid:
      description: Process ID of the running master; null when not running.
      type: int
      sample: 347
    config_directory:
      description: The configuration directory read (O(config_directory)).
      type: str
      sample: /etc/postfix
    queue_directory:
      description: Postfix's C(queue_directory) (path), where C(pid/master.pid) was read.
      type: str
      sample: /var/spool/postfix
    unit:
      description:
        - The systemd unit that runs the master, from C(systemctl show); null without systemd
          or without a unit to ask about (see O(service)).
      type: dict
      contains:
        name:
          description: Unit name (C(Id)).
          type: str
          sample: postfix@-.service
        load_state:
          description: C(LoadState), V(loaded) or V(not-found).
          type: str
          sample: loaded
        active_state:
          description: C(ActiveState), for example V(active), V(inactive), V(failed).
          type: str
          sample: active
        sub_state:
          description: C(SubState), for example V(running), V(exited), V(dead).
          type: str
          sample: running
        main_pid:
          description: C(MainPID) (process ID); null when systemd tracks none (0).
          type: int
          sample: null
        invocation_id:
          description: C(InvocationID), new each time the unit starts (a reload keeps it); null
            when it has not run since boot.
          type: str
          sample: 33d3266dc9b743a2aa5cf89ca6f89792
        limit_nofile:
          description: C(LimitNOFILESoft) and C(LimitNOFILE) as systemd has loaded them, in
            file descriptors (null = unlimited); what the master gets at its next start.
          type: dict
          sample: {soft: 8192, hard: 8192}
        need_daemon_reload:
          description: C(NeedDaemonReload), systemd's own view that a unit file changed on disk.
          type: bool
          sample: false
        drop_in_paths:
          description: C(DropInPaths), the drop-in files (paths) systemd has loaded.
          type: list
          elements: str
          sample: [/etc/systemd/system/postfix@-.service.d/60-sbs-tuning.conf]
        drop_ins_not_loaded:
          description: Drop-in files (paths) on disk for this unit that systemd has not loaded.
          type: list
          elements: str
          sample: []
        fragment_path:
          description: C(FragmentPath), the unit file (path).
          type: str
          sample: /lib/systemd/system/postfix@.service
    nofile:
      description: The master's open-file limits from C(/proc/<pid>/limits), in file
        descriptors (null = unlimited); null when not running.
      type: dict
      sample: {soft: 8192, hard: 8192}
    somaxconn:
      description: C(net.core.somaxconn), the kernel's cap on a listen backlog, in
        connections; null when unreadable.
      type: int
      sample: 4096
    sysctl:
      description: >-
        The kernel settings read (O(sysctl) and O(expect)), key and value, values as the kernel
        prints them with whitespace collapsed (units per setting, as sysctl shows them); null
        for a key the kernel does not have.
      type: dict
      sample: {net.core.somaxconn: "4096", net.ipv4.ip_local_port_range: "32768 60999"}
    default_process_limit:
      description: C(default_process_limit) (processes), which every maxproc V(-) and every
        listen backlog depends on; null when Postfix is not installed.
      type: int
      sample: 100
    parameters:
      description: >-
        The main.cf parameters read (O(parameters) and O(expect)), name and value as
        C(postconf) prints them (units as postconf(5) documents each); null for a name this
        Postfix does not know or when it is not installed.
      type: dict
      sample: {default_process_limit: "100", in_flow_delay: 1s}
    services:
      description: The master.cf services read (O(services) and O(expect)), by C(name/type);
        null for a service not in master.cf.
      type: dict
      sample:
        smtp/inet:
          private: "n"
          unprivileged: "-"
          chroot: "y"
          wakeup: "-"
          maxproc: "-"
          maxproc_effective: 100
          command: smtpd
          args: []
          options: {}
      contains:
        maxproc:
          description: The process limit field as written (V(-) = C(default_process_limit)).
          type: str
        maxproc_effective:
          description: The process limit it means, in processes (0 = no limit); null when
            unknown.
          type: int
        private:
          description: Field 3 as written.
          type: str
        unprivileged:
          description: Field 4 as written.
          type: str
        chroot:
          description: Field 5 as written.
          type: str
        wakeup:
          description: Field 6 as written (seconds, V(-) for none).
          type: str
        command:
          description: The command (first word of field 8).
          type: str
        args:
          description: The command's arguments.
          type: list
          elements: str
        options:
          description: The C(-o name=value) overrides.
          type: dict
    listen_backlogs:
      description:
        - For each inet service in master.cf (V(smtp/inet), V(submission/inet),
          V(127.0.0.1:10025/inet), ...), its listening TCP sockets from C(ss -Hltn), each with
          C(address), C(port) and C(backlog) (the Send-Q of a listening socket, the accept
          queue's length in connections).
        - Empty when Postfix is not running or C(ss) is missing; an inet service whose socket
          is not open has an empty list.
      type: dict
      sample:
        smtp/inet:
          - {address: 0.0.0.0, port: 25, backlog: 100}
          - {address: "::", port: 25, backlog: 100}
    listen_backlog_expected:
      description:
        - The listen backlog master(8) gives V(smtp/inet), in connections, that is
          max(maxproc, C(default_process_limit)) capped by C(net.core.somaxconn), with the
          values of O(expect) where it gives them. Null when there is no V(smtp/inet) service
          or Postfix is not installed.
      type: int
      sample: 100
    memory_total:
      description: The memory Postfix can use, in bytes, C(MemTotal) from C(/proc/meminfo) or
        a tighter cgroup memory limit; what the limits a role accepts are checked against.
        Null when C(/proc/meminfo) cannot be read.
      type: int
      sample: 4111122432
    packages:
      description: The installed version of each package in O(packages), null when it is not
        installed (or C(dpkg-query) is missing, with a warning).
      type: dict
      sample: {postfix: 3.7.11-0+deb12u1, postfix-lmdb: null}
    packages_missing:
      description: The packages of O(packages) that are not installed (or all of them when
        C(dpkg-query) is missing), in the order asked; what a role installs.
      type: list
      elements: str
      sample: [postfix-lmdb]
    debconf:
      description: The debconf answers of the packages in O(debconf), question and value as
        C(debconf-show) prints them (empty for an unanswered question); null when
        C(debconf-show) is missing (with a warning).
      type: dict
      sample: {postfix/main_mailer_type: No configuration, postfix/mailname: mx1.example.test}
    postfix:
      description: What the installed Postfix supports; null unless O(capabilities), or when
        Postfix is not installed.
      type: dict
      sample: {version: 3.7.11, parameter_names: [2bounce_notice_recipient, access_map_defer_code], map_types: [btree, cidr, hash, lmdb]}
      contains:
        version:
          description: C(mail_version) from C(postconf -d).
          type: str
        parameter_names:
          description: Every main.cf parameter this Postfix knows (C(postconf -d)), sorted.
          type: list
          elements: str
        map_types:
          description: The lookup table types it supports (C(postconf -m)), sorted; empty when
            they could not be read (with a warning).
          type: list
          elements: str
    files:
      description:
        - The state of each path in O(files), by the path as given, links followed.
        - A missing path has C(exists) false and every other field null. When the path cannot
          even be looked at (a directory on the way that cannot be searched), C(exists) is
          null too, with a warning.
      type: dict
      sample:
        /etc/opendkim.conf:
          exists: true
          type: file
          mode: "0644"
          owner: root
          group: root
          size: 1042
          mtime: 1764500000.25
          sha1: 2aae6c35c94fcfb415dbe95f408b9ce91ee846ed
        /etc/opendkim/keys:
          exists: true
          type: directory
          mode: "2750"
          owner: opendkim
          group: opendkim
          size: 4096
          mtime: 1764400000.0
          sha1: null
        /etc/opendkim/TrustedHosts:
          exists: false
          type: null
          mode: null
          owner: null
          group: null
          size: null
          mtime: null
          sha1: null
      contains:
        exists:
          description: Whether the path (the link's target, for a link) exists.
          type: bool
        type:
          description: V(file) (regular file), V(directory) or V(other) (device, socket, FIFO).
          type: str
        mode:
          description: Permission bits as four octal digits, setuid, setgid and sticky
            included, as M(ansible.builtin.stat) returns them (V(0640), V(2750)).
          type: str
        owner:
          description: Owner's user name; the numeric ID as a string when it has no name.
          type: str
        group:
          description: Group name; the numeric ID as a string when it has no name.
          type: str
        size:
          description: Size in bytes.
          type: int
        mtime:
          description: Last modification, in seconds since the epoch (a float), so a role can
            tell a compiled database older than its source (an interrupted run).
          type: float
        sha1:
          description: Hex sha1 of a regular file's bytes, the C(checksum) of
            M(ansible.builtin.stat), comparable with C(content | hash('sha1')); null for
            anything else, or when the file cannot be read (with a warning).
          type: str
    contents:
      description:
        - The text of each path in O(contents), by the path as given; null when it does not
          exist, and (with a warning) when it is larger than 64 KiB, not a regular file or
          cannot be read.
        - Printed with C(-v), so public files only.
      type: dict
      sample:
        /etc/opendkim/keys/example.org/sel2026.txt: "sel2026._domainkey\tIN\tTXT\t( \"v=DKIM1; k=rsa; \" ... )\n"
        /etc/ssl/certs/mx1.example.org.pem: null
    public_keys:
      description:
        - The PEM public key of each path in O(public_keys), by the path as given; null when
          the file does not exist, and (with a warning) when C(openssl) is missing or cannot
          read it.
      type: dict
      sample:
        /etc/dkimkeys/example.org/sel2026.private: "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg...\n-----END PUBLIC KEY-----\n"
    units:
      description:
        - The state of each unit in O(units), by the name as given, from C(systemctl show).
        - Each is null when systemd cannot be asked (no C(systemctl), or systemd is not
          running), with a warning.
      type: dict
      sample:
        postfix:
          load: loaded
          active: active
          sub: running
          enabled: enabled
          main_pid: 224
        opendkim:
          load: not-found
          active: inactive
          sub: dead
          enabled: null
          main_pid: null
      contains:
        load:
          description: C(LoadState), for example V(loaded), V(not-found), V(masked).
          type: str
        active:
          description: C(ActiveState), for example V(active), V(inactive), V(failed).
          type: str
        sub:
          description: C(SubState), for example V(running), V(exited), V(dead).
          type: str
        enabled:
          description: C(UnitFileState), for example V(enabled), V(disabled), V(static),
            V(masked), V(indirect); null when systemd has none (a unit that is not found).
          type: str
        main_pid:
          description: C(MainPID) (process ID); null when there is none (0) or the unit is
            not a service.
          type: int
    daemon_reload_needed:
      description:
        - Whether systemd must read its unit files again before a (re)start applies them,
          because of C(NeedDaemonReload), a drop-in on disk systemd has not loaded, or (with
          C(expect.nofile)) a loaded C(LimitNOFILE) other than the expected one.
      type: bool
      sample: false
    mismatches:
      description:
        - Every expected value not in force; empty when everything is.
      returned: when O(expect) is given
      type: list
      elements: dict
      sample:
        - what: open-file limit of the master (hard)
          expected: 8192
          in_force: 1024
          fix: restart
          detail: /proc/347/limits; fixed when the master starts
      contains:
        what:
          description: What differs, with its source.
          type: str
        expected:
          description: The expected value (same unit as RV(runtime.mismatches[].in_force)).
          type: raw
        in_force:
          description: The value in force; null when it could not be read or does not exist.
          type: raw
        fix:
          description:
            - What puts the expected value in force. V(restart) (of the master),
              V(daemon-reload) (systemd must read the unit's files; a restart then applies
              them to the master), or V(none) (no service action does, because the
              configuration files or the kernel settings themselves differ).
            - V(reload) is part of the set but not returned today. Everything
              C(postfix reload) applies is read from the files, so a difference there is in
              the files themselves (V(none)).
          type: str
          choices: [restart, reload, daemon-reload, none]
        detail:
          description: Where the value was read and why that fix.
          type: str
    restart_reasons:
      description:
        - One sentence per thing only a restart of the master puts in force (the open-file
          limit and inet listen backlogs). Empty when a restart is not needed.
      returned: when O(expect) is given
      type: list
      elements: str
      sample:
        - open-file limit 1024 -> 8192 (LimitNOFILE)
        - >-
          listen backlog of smtp/inet 100 -> 250 (0.0.0.0:25, [::]:25; set when master(8)
          opens the socket)
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _runtime
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner


def main():
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str"},
            "config_directory": {"type": "path", "default": "/etc/postfix"},
            "parameters": {"type": "list", "elements": "str", "default": []},
            "services": {"type": "list", "elements": "str", "default": []},
            "sysctl": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "capabilities": {"type": "bool", "default": False},
            "debconf": {"type": "list", "elements": "str", "default": []},
            # str, not path: a path would be expanded on the host and come back under another
            # key than the one the role looks it up by.
            "files": {"type": "list", "elements": "str", "default": []},
            "contents": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "public_keys": {"type": "list", "elements": "str", "default": []},
            "expect": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    params = module.params
    expect, errors = _runtime.check_expect(params["expect"])
    errors += _runtime.check_names(
        params["parameters"],
        params["services"],
        params["sysctl"],
        params["packages"],
        params["debconf"],
        files=params["files"],
        contents=params["contents"],
        units=params["units"],
        public_keys=params["public_keys"],
    )
    if errors:
        module.fail_json(msg="Invalid options, nothing was read: " + "; ".join(errors))
    runtime, warnings = _runtime.collect(
        CommandRunner(module, missing_ok=True),
        config_directory=params["config_directory"],
        service=params["service"],
        parameters=params["parameters"],
        services=params["services"],
        sysctl=params["sysctl"],
        packages=params["packages"],
        capabilities=params["capabilities"],
        debconf=params["debconf"],
        files=params["files"],
        contents=params["contents"],
        units=params["units"],
        public_keys=params["public_keys"],
        expect=expect,
    )
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, runtime=runtime)


if __name__ == "__main__":
    main()
