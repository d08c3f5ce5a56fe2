# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sbs.postfix.template renders exactly what ansible.builtin.template renders.

The lookup exists only to skip the builtin's copy of every variable (issue 12), so the test is
the builtin itself: a real ansible-playbook renders the same templates both ways and compares.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

TEMPLATES = {
    # The managed header, a loop, trim_blocks, and a trailing blank line.
    "header.j2": textwrap.dedent(
        """\
        {{ ansible_managed | comment }}
        {% for name in names %}
        {{ name }} = {{ values[name] }}
        {% endfor %}

        """
    ),
    # Backslashes and quotes stay as written, and a backslash in an expression's string is Jinja's
    # escape (escape_backslashes=False, as the builtin).
    "literal.j2": 'path = C:\\new\\table "quoted" \\1\n{{ "tab\\there" }}\n',
    # The template's own variables: template_path and what template_vars adds.
    "about.j2": "{{ template_path }} {{ item | default('no item') }} {{ values.a }}\n",
}

PLAYBOOK = textwrap.dedent(
    """\
    - name: Compare sbs.postfix.template with ansible.builtin.template
      hosts: localhost
      gather_facts: false
      vars:
        names: [a, b]
        values: {a: 1, b: two}
      tasks:
        - name: Render every template both ways
          ansible.builtin.assert:
            that:
              - lookup('sbs.postfix.template', item) == lookup('ansible.builtin.template', item)
              - >-
                lookup('sbs.postfix.template', item, template_vars={'item': 'x', 'values': {'a': 9, 'b': 3}})
                == lookup('ansible.builtin.template', item, template_vars={'item': 'x', 'values': {'a': 9, 'b': 3}})
            fail_msg: "{{ lookup('sbs.postfix.template', item) }}"
          loop: [header.j2, literal.j2, about.j2]

        - name: Keep the caller's variables as they were
          ansible.builtin.assert:
            that:
              - >-
                lookup('sbs.postfix.template', 'about.j2', template_vars={'values': {'a': 9}}) is search(' 9$')
              - >-
                values == {'a': 1, 'b': 'two'}
              - item is not defined

        - name: Render several templates in one query
          ansible.builtin.assert:
            that:
              - >-
                query('sbs.postfix.template', 'literal.j2', 'about.j2')
                == query('ansible.builtin.template', 'literal.j2', 'about.j2')

        - name: Keep an ansible_managed the user set
          ansible.builtin.assert:
            that:
              - lookup('sbs.postfix.template', 'header.j2') is search('^#\\n# managed here\\n#', multiline=False)
              - lookup('sbs.postfix.template', 'header.j2') == lookup('ansible.builtin.template', 'header.j2')
          vars:
            ansible_managed: managed here

        - name: Name a template that does not exist
          block:
            - name: Render a missing template
              ansible.builtin.debug:
                msg: "{{ lookup('sbs.postfix.template', 'missing.j2') }}"
          rescue:
            - name: Fail with the file's name, as the builtin does
              ansible.builtin.assert:
                that: ansible_failed_result.msg is search('the template file missing.j2 could not be found')
    """
)


def test_renders_what_the_builtin_renders(tmp_path):
    playbook = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable))
    if playbook is None:
        pytest.skip("ansible-playbook is not installed beside this Python")
    collections = next(p for p in sys.path if p.endswith(os.path.join(".cache", "collections")))
    (tmp_path / "templates").mkdir()
    for name, text in TEMPLATES.items():
        (tmp_path / "templates" / name).write_text(text, encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    # The project's ansible.cfg sets nothing a lookup reads; an empty one keeps the run alone.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    result = subprocess.run(
        [playbook, "-i", "localhost,", "-c", "local", "play.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": collections,
            "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed=0" in result.stdout and "rescued=1" in result.stdout, result.stdout
