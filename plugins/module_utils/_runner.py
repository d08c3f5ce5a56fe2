# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way the sbs.postfix modules run a program.

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only.

Every command goes through ``AnsibleModule.run_command`` with an argument list (never a shell
string) and the C locale, so that the parsers read the English, untranslated messages and
numbers Postfix, systemd and iproute2 print. Programs are found with ``module.get_bin_path``,
once per program and module run.

A :class:`CommandRunner` is the ``run(argv, binary=False)`` callable the readers in
``_sysinfo`` and ``_baseline`` take, so those stay testable with a plain fake.
"""

from __future__ import annotations

import os

# The locale every command runs in: defined here and nowhere else.
C_LOCALE = {"LANG": "C", "LC_ALL": "C"}

# What a shell answers for a program that is not installed.
MISSING_RC = 127


class CommandRunner:
    """``runner(argv, binary=False)`` runs ``argv`` and returns ``(rc, stdout, stderr)``.

    ``argv[0]`` is a program name (``postconf``, ``systemctl``) or the absolute path
    :meth:`path` returned for one; the rest are its arguments.
    ``binary=True`` returns stdout and stderr as bytes (the journal may hold any bytes).

    ``missing_ok`` decides what a missing program means:

    * ``False`` (modules that change a host and cannot work without the program, such as
      ``config`` and ``postconf``): ``get_bin_path(required=True)`` fails the module with the
      name of the program and the directories searched.
    * ``True`` (the ``_info`` modules, which must also answer on a host without Postfix): the
      command "runs" with exit status :data:`MISSING_RC` and ``<name>: command not found`` on
      stderr, as a shell would say it, and the caller decides what that means.

    A non-zero exit status never fails the module here (``check_rc=False``): the callers
    turn Postfix's own message into one a person can act on.
    """

    def __init__(self, module, missing_ok=False):
        self.module = module
        self.missing_ok = missing_ok
        self._paths = {}

    def path(self, name):
        """Absolute path of program ``name``, or ``None`` if it is missing and ``missing_ok``."""
        if name not in self._paths:
            self._paths[name] = self.module.get_bin_path(name, required=not self.missing_ok)
        return self._paths[name]

    def argv(self, argv):
        """``argv`` with the program's absolute path first, or ``None`` if it is missing.

        An ``argv[0]`` that is already an absolute path (from :meth:`path`) is kept as it is.
        """
        path = argv[0] if os.path.isabs(argv[0]) else self.path(argv[0])
        return None if path is None else [path, *argv[1:]]

    def __call__(self, argv, binary=False):
        resolved = self.argv(argv)
        if resolved is None:
            message = f"{argv[0]}: command not found"
            return (MISSING_RC, b"", message.encode()) if binary else (MISSING_RC, "", message)
        kwargs = {"environ_update": dict(C_LOCALE), "check_rc": False}
        if binary:
            kwargs["encoding"] = None
        return self.module.run_command(resolved, **kwargs)
