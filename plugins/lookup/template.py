# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render a template to text like ansible.builtin.template, without copying every variable."""

from __future__ import annotations

DOCUMENTATION = r"""
name: template
author:
  - sbs.postfix maintainers (@sbs-postfix)
short_description: Render a role's template to text without copying the host's variables
version_added: "0.1.0"
description:
  - Returns the text of each template named, rendered with the current variables, exactly as
    P(ansible.builtin.template#lookup) does with its default options (C(trim_blocks), the
    standard delimiters, C(ansible_managed) and the other C(template_*) variables).
  - The difference is its cost. The builtin lookup deep-copies all variables of the host before
    every render (ansible-core marks this with a FIXME that asks for a chain map). On a
    no-change run of C(sbs.postfix.site) that copy was about a tenth of the controller's CPU. This
    lookup layers the template's own variables over the host's in a chain instead.
  - The collection's roles use it to render a file and compare it with the target in one task,
    which is what keeps a no-change re-run cheap.
  - Templates must not change the variables they read (with the C(update) or C(append) method of
    a dict or list). Without the copy, such a change would reach the host's variables. The
    collection's templates only read.
  - On ansible-core older than 2.19 the lookup hands the call to
    P(ansible.builtin.template#lookup) unchanged, so the result is the same everywhere.
options:
  _terms:
    description:
      - The template files, searched for as P(ansible.builtin.template#lookup) does (the role's
        C(templates/) folder first).
    type: list
    elements: str
    required: true
  template_vars:
    description:
      - Variables the template sees in addition to, and above, the current variables.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Compare the wanted main.cf with the one in place, rendering it once
  ansible.builtin.set_fact:
    main_cf_wanted: "{{ lookup('sbs.postfix.template', 'etc/postfix/main.cf.j2') }}"

- name: Render one zone file per DKIM domain
  ansible.builtin.debug:
    msg: "{{ lookup('sbs.postfix.template', 'dns-records.zone.j2', template_vars={'item': 'example.org'}) }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each template, in the order named.
  type: list
  elements: str
"""

import os
from collections import ChainMap

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase
from ansible.template import generate_ansible_template_vars

try:  # ansible-core 2.19 and later: templates must be marked as trusted to render
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core takes the builtin path below
    trust_as_template = None


def _search_path(variables, template_dir):
    """Where Jinja looks for includes: the template's own folder, then each play and role path
    with its templates/ folder first, as the builtin lookup does."""
    paths = [template_dir]
    for path in variables.get("ansible_search_path", []):
        paths += [os.path.join(path, "templates"), path]
    return paths


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if trust_as_template is None:
            builtin = lookup_loader.get(
                "ansible.builtin.template", loader=self._loader, templar=self._templar
            )
            return builtin.run(terms, variables, **kwargs)

        self.set_options(var_options=variables, direct=kwargs)
        template_vars = self.get_option("template_vars")
        variables = variables or {}
        rendered = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleError(f"the template file {term} could not be found for the lookup")
            about_file = generate_ansible_template_vars(path=term, fullpath=path)
            if "ansible_managed" in variables:  # the user's own header wins, as with the builtin
                del about_file["ansible_managed"]
            templar = self._templar.copy_with_new_env(
                available_variables=ChainMap(template_vars, about_file, variables),
                searchpath=_search_path(variables, os.path.dirname(path)),
            )
            source = trust_as_template(self._loader.get_text_file_contents(path))
            rendered.append(templar.template(source, escape_backslashes=False))
        return rendered
