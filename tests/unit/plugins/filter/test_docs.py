# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every filter the collection exports has a manual: `ansible-doc -t filter sbs.postfix.NAME`.

A filter plugin file exports several filters, so each filter's documentation is a YAML file
beside it, named after the filter (plugins/filter/NAME.yml), or a NAME.py with DOCUMENTATION,
EXAMPLES and RETURN strings. A new filter without one fails here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

FILTER_DIR = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "filter"
PACKAGE = "ansible_collections.sbs.postfix.plugins.filter"


def _exported():
    """{filter name: function} for every FilterModule in plugins/filter/*.py."""
    found = {}
    for path in sorted(FILTER_DIR.glob("*.py")):
        module = importlib.import_module(f"{PACKAGE}.{path.stem}")
        if not hasattr(module, "FilterModule"):
            continue
        for name, function in module.FilterModule().filters().items():
            assert name not in found, f"{name} is exported by two filter files"
            found[name] = function
    return found


EXPORTED = _exported()


def _documentation(name):
    """DOCUMENTATION, EXAMPLES and RETURN of one filter, parsed."""
    sidecar = FILTER_DIR / f"{name}.yml"
    if sidecar.is_file():
        with open(sidecar, encoding="utf-8") as handle:
            docs = yaml.safe_load(handle)
        return docs["DOCUMENTATION"], docs["EXAMPLES"], docs["RETURN"]
    module = importlib.import_module(f"{PACKAGE}.{name}")
    return (
        yaml.safe_load(module.DOCUMENTATION),
        module.EXAMPLES,
        yaml.safe_load(module.RETURN),
    )


def test_every_filter_file_is_found():
    assert {"postfix_main", "postfix_master", "dkim_plan", "tls_contribution"} <= set(EXPORTED)


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_filter_is_documented(name):
    assert (FILTER_DIR / f"{name}.yml").is_file() or (FILTER_DIR / f"{name}.py").is_file(), (
        f"{name} has no documentation: add plugins/filter/{name}.yml "
        "(see the other filters' files there)"
    )
    doc, examples, returns = _documentation(name)

    assert doc["name"] == name
    for key in ("short_description", "author", "version_added"):
        assert doc.get(key), f"{name}: DOCUMENTATION.{key} is missing"
    description = doc["description"]
    if isinstance(description, str):
        description = [description]
    assert description and all(isinstance(line, str) and line for line in description), (
        f"{name}: DOCUMENTATION.description must be text (quote or fold lines with a colon)"
    )
    options = doc.get("options") or {}
    assert "_input" in options, f"{name}: DOCUMENTATION.options._input is missing"
    for option, spec in options.items():
        assert isinstance(spec.get("description"), (str, list)), f"{name}: {option} description"
        assert spec.get("type"), f"{name}: option {option} has no type"
    positional = [item.strip() for item in str(doc.get("positional", "_input")).split(",")]
    assert positional[0] == "_input" and set(positional) <= set(options), (
        f"{name}: positional {positional} must start with _input and name documented options"
    )

    assert isinstance(examples, str) and f"sbs.postfix.{name}" in examples, (
        f"{name}: EXAMPLES must show the filter in use"
    )
    yaml.safe_load(examples)

    value = returns["_value"]
    assert value.get("description") and value.get("type"), f"{name}: RETURN._value"


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_documented_options_are_the_filters_parameters(name):
    """The manual and the code agree on what the filter takes."""
    doc, _examples, _returns = _documentation(name)
    parameters = list(inspect.signature(EXPORTED[name]).parameters)
    documented = set(doc.get("options") or {}) - {"_input"}
    assert documented == set(parameters[1:]), (
        f"{name}: documented options {sorted(documented)}, parameters {parameters[1:]}"
    )


def test_ansible_doc_reads_every_filter():
    """What a user runs: ansible-doc finds and renders every filter's manual."""
    ansible_doc = shutil.which("ansible-doc", path=os.path.dirname(sys.executable))
    if ansible_doc is None:
        pytest.skip("ansible-doc is not installed beside this Python")
    collections = next(p for p in sys.path if p.endswith(os.path.join(".cache", "collections")))
    names = [f"sbs.postfix.{name}" for name in sorted(EXPORTED)]
    result = subprocess.run(
        [ansible_doc, "--json", "-t", "filter", *names],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_NOCOLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "[ERROR]" not in result.stderr and "[WARNING]" not in result.stderr, result.stderr
    docs = json.loads(result.stdout)
    missing = [name for name in names if not (docs.get(name) or {}).get("doc")]
    assert not missing, f"ansible-doc has no manual for {missing}"
