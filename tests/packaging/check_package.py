"""The packaging test of sbs.postfix, run by tests/packaging/run (make package).

1. ``ansible-galaxy collection build`` into a temporary directory.
2. The tarball holds what a user needs (MANIFEST.json, FILES.json, plugins, roles, playbooks,
   docs with the examples, meta/runtime.yml, changelogs, README.md, COPYING, requirements.txt,
   bindep.txt) and nothing else: no tests, benchmarks, Molecule, scripts, caches, bytecode or
   files a run writes (DNS records, baselines).
3. Every collection the roles, playbooks and plugins call is declared in galaxy.yml.
4. ``ansible-galaxy collection install --offline`` into an empty collections path: the tarball
   alone must fail for want of its dependencies (proof that they are declared), then succeed
   with dependency tarballs built from the copies the ``ansible`` Python package ships (Galaxy
   is not reachable here).
5. From that path alone (the ``ansible`` package's own collections hidden): the example
   inventory validates against the roles' argument specs, and ``sbs.postfix.site`` passes
   ``--syntax-check`` and ``--list-tasks`` with it.
6. The example execution environment: requirements.txt and bindep.txt parse,
   ``ansible-builder create`` writes a build context with the tarball in it, and
   ansible-builder's own introspection finds the collection's Python and system needs in the
   installed collection, as an image build would.

Ends with one line ``package: N passed, N failed``; exit status 1 when anything failed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEEP = os.environ.get("SBS_PACKAGE_KEEP") == "1"

# Top level of the tarball: these files, and these directories.
ALLOWED_FILES = {
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "COPYING",
    "requirements.txt",
    "bindep.txt",
}
ALLOWED_DIRS = {"changelogs", "docs", "meta", "playbooks", "plugins", "roles"}
# Every allowed top-level file must be there too, and these deeper ones.
REQUIRED = [
    *sorted(ALLOWED_FILES),
    "meta/runtime.yml",
    "changelogs/changelog.yaml",
    "playbooks/site.yml",
    "docs/index.md",
    "docs/execution-environment.md",
    "docs/examples/execution-environment.yml",
    "docs/examples/inventory/hosts.yml",
    "docs/examples/inventory/group_vars/mail.yml",
]
# Never in the tarball, at any depth: development tooling, test output, caches, bytecode,
# hidden files, and what a run from the checkout writes (DKIM zone snippets, baselines,
# reports).
FORBIDDEN_PARTS = {
    "bench",
    "molecule",
    "scripts",
    "tests",
    "demo",
    "output",
    "__pycache__",
    "dns-records",
    "baselines",
    "reports",
}
FORBIDDEN_NAMES = ["*.pyc", "*.pyo", "*.retry", "*.tar.gz", ".*"]
# JSON is a benchmark result or a stored baseline unless it is one of these.
ALLOWED_JSON = [
    "MANIFEST.json",
    "FILES.json",
    "roles/*/files/*",
    "roles/*/templates/*",
    # The Grafana dashboard users import (docs/monitoring.md).
    "docs/examples/grafana/*.json",
]
# Collections that are part of ansible-core, or this one.
CORE = {("ansible", "builtin"), ("ansible", "legacy"), ("sbs", "postfix")}
FQCN = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\b")


class Failure(Exception):
    """A check failed; the message says what a maintainer should look at."""


def run(cmd, *, env=None, cwd=None, expect_failure=False):
    """Run a command, return its combined output; raise Failure on an unexpected exit status."""
    proc = subprocess.run(
        [str(part) for part in cmd],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if (proc.returncode == 0) == expect_failure:
        raise Failure(
            f"{' '.join(str(part) for part in cmd)} exited {proc.returncode}"
            + (" (a failure was expected)" if expect_failure else "")
            + f":\n{proc.stdout.rstrip()}"
        )
    return proc.stdout


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def galaxy_meta():
    with open(ROOT / "galaxy.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class PackageTest:
    def __init__(self, work):
        self.work = Path(work)
        self.meta = galaxy_meta()
        self.dependencies = self.meta.get("dependencies") or {}
        self.tarball = None
        self.members = []
        self.extracted = self.work / "extracted"
        self.collections = self.work / "collections"
        self.installed = self.collections / "ansible_collections" / "sbs" / "postfix"
        self.deps_dir = self.work / "dependencies"
        config = self.work / "ansible.cfg"
        config.write_text("[defaults]\nnocows = true\nretry_files_enabled = false\n")
        # Only the empty-then-filled path: no ~/.ansible, no /usr/share/ansible, no checkout
        # link, and not the collections the `ansible` package puts on sys.path.
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(config),
            ANSIBLE_HOME=str(self.work / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(self.work / "ansible-tmp"),
            ANSIBLE_COLLECTIONS_PATH=str(self.collections),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
        )
        self.passed = 0
        self.failed = 0

    # ---- runner -------------------------------------------------------------------------------

    def check(self, name, func, *, fatal=False):
        started = time.monotonic()
        try:
            note = func()
        except Exception as exc:  # every failure is reported, then counted
            self.failed += 1
            print(f"FAIL {name} ({time.monotonic() - started:.1f} s)")
            text = str(exc) if isinstance(exc, Failure) else traceback.format_exc()
            for line in text.splitlines() or [type(exc).__name__]:
                print(f"     {line}")
            if fatal:
                raise SystemExit(self.close()) from None
            return
        self.passed += 1
        print(f"ok   {name} ({time.monotonic() - started:.1f} s)" + (f": {note}" if note else ""))

    def close(self):
        print(f"package: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0

    # ---- 1. build -----------------------------------------------------------------------------

    def build(self):
        out = self.work / "dist"
        run(
            [BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT],
            env=self.env,
        )
        name = f"{self.meta['namespace']}-{self.meta['name']}-{self.meta['version']}.tar.gz"
        self.tarball = out / name
        if not self.tarball.is_file():
            raise Failure(f"ansible-galaxy did not write {name}: {sorted(os.listdir(out))}")
        with tarfile.open(self.tarball) as tar:
            self.members = tar.getmembers()
            tar.extractall(self.extracted, filter="data")
        return f"{name}, {self.tarball.stat().st_size // 1024} KiB"

    # ---- 2. contents --------------------------------------------------------------------------

    def files(self):
        return sorted(member.name for member in self.members if member.isfile())

    def contents_required(self):
        files = set(self.files())
        missing = [path for path in REQUIRED if path not in files]
        # Everything git tracks under the shipped directories must be in the tarball.
        tracked = subprocess.run(
            ["git", "-C", ROOT, "ls-files", "--", *sorted(ALLOWED_DIRS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            check=False,
        )
        if tracked.returncode == 0:
            missing += [path for path in tracked.stdout.split() if path not in files]
        if missing:
            raise Failure("missing from the tarball:\n" + "\n".join(sorted(set(missing))))
        with open(self.extracted / "MANIFEST.json", encoding="utf-8") as handle:
            info = json.load(handle)["collection_info"]
        if info["dependencies"] != self.dependencies:
            raise Failure(
                f"MANIFEST.json dependencies {info['dependencies']} != galaxy.yml {self.dependencies}"
            )
        roles = sorted({path.split("/")[1] for path in files if path.startswith("roles/")})
        return f"{len(files)} files, roles {', '.join(roles)}"

    def contents_nothing_else(self):
        leaks = []
        for path in self.files():
            parts = path.split("/")
            if len(parts) == 1 and path not in ALLOWED_FILES:
                leaks.append(f"{path}: not a file users need at the top level")
            elif len(parts) > 1 and parts[0] not in ALLOWED_DIRS:
                leaks.append(f"{path}: {parts[0]}/ is not collection content")
            elif any(part in FORBIDDEN_PARTS for part in parts[:-1]):
                leaks.append(f"{path}: development, test or run output")
            elif any(fnmatch.fnmatch(parts[-1], pattern) for pattern in FORBIDDEN_NAMES):
                leaks.append(f"{path}: bytecode, archive or hidden file")
            elif path.endswith(".json") and not any(
                fnmatch.fnmatch(path, pattern) for pattern in ALLOWED_JSON
            ):
                leaks.append(f"{path}: JSON data (a benchmark result or a stored baseline?)")
            elif parts[0] == "meta" and not fnmatch.fnmatch(path, "meta/*.yml"):
                leaks.append(f"{path}: meta/ holds runtime.yml and other metadata only")
        if leaks:
            raise Failure(
                "the tarball holds files users do not need (extend build_ignore in galaxy.yml):\n"
                + "\n".join(leaks)
            )
        counts = {}
        for path in self.files():
            top = path.split("/")[0] + ("/" if "/" in path else "")
            counts[top] = counts.get(top, 0) + 1
        return ", ".join(f"{top} {count}" for top, count in sorted(counts.items()))

    # ---- 3. declared dependencies -------------------------------------------------------------

    def references(self):
        """{(namespace, name): {fqcn: first file}} for every collection the content calls.

        A dotted name counts when its first two parts name a real collection: a declared one, or
        one the `ansible` package bundles. Comment lines are skipped.
        """
        bundled = bundled_collections()
        found = {}
        for directory in ("roles", "playbooks", "plugins"):
            for path in sorted((self.extracted / directory).rglob("*")):
                if path.suffix not in {".yml", ".yaml", ".j2", ".py"} or not path.is_file():
                    continue
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.lstrip().startswith("#"):
                        continue
                    for match in FQCN.finditer(line):
                        collection = match.group(1, 2)
                        if collection in CORE:
                            continue
                        name = ".".join(collection)
                        if name in self.dependencies or collection in bundled:
                            where = str(path.relative_to(self.extracted))
                            found.setdefault(collection, {}).setdefault(match.group(0), where)
        return found

    def dependencies_declared(self):
        found = self.references()
        undeclared = {
            ".".join(collection): names
            for collection, names in found.items()
            if ".".join(collection) not in self.dependencies
        }
        if undeclared:
            raise Failure(
                "used but not declared under dependencies in galaxy.yml:\n"
                + "\n".join(
                    f"{collection}: {fqcn} in {where}"
                    for collection, names in sorted(undeclared.items())
                    for fqcn, where in sorted(names.items())
                )
            )
        unused = sorted(set(self.dependencies) - {".".join(c) for c in found})
        note = ", ".join(f"{name} {spec}" for name, spec in sorted(self.dependencies.items()))
        return note + (f" (declared, not referenced: {', '.join(unused)})" if unused else "")

    # ---- 4. install offline -------------------------------------------------------------------

    def build_dependency_tarballs(self):
        """Build a tarball of every declared collection (and theirs) from the `ansible` package.

        Those copies carry MANIFEST.json but no galaxy.yml, and their FILES.json lists files the
        package left out, so each is rebuilt with ansible-galaxy from a galaxy.yml written from
        its MANIFEST.json.
        """
        site = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"
        pending = list(self.dependencies)
        done = {}
        while pending:
            name = pending.pop()
            if name in done:
                continue
            namespace, collection = name.split(".")
            source = site / namespace / collection
            if not (source / "MANIFEST.json").is_file():
                raise Failure(
                    f"{name} is not in the ansible package ({source}): nothing to install from"
                )
            with open(source / "MANIFEST.json", encoding="utf-8") as handle:
                info = json.load(handle)["collection_info"]
            copy = self.work / "dependency-sources" / namespace / collection
            shutil.copytree(
                source,
                copy,
                ignore=shutil.ignore_patterns("MANIFEST.json", "FILES.json", "__pycache__"),
            )
            galaxy = {key: value for key, value in info.items() if value not in (None, [], "")}
            (copy / "galaxy.yml").write_text(yaml.safe_dump(galaxy, sort_keys=False))
            run(
                [
                    BIN / "ansible-galaxy",
                    "collection",
                    "build",
                    "--output-path",
                    self.deps_dir,
                    copy,
                ],
                env=self.env,
            )
            done[name] = info["version"]
            pending.extend(info.get("dependencies") or {})
        return done

    def install_needs_dependencies(self):
        # Into a scratch path: the real one must stay empty until the full install.
        scratch = self.work / "scratch-collections"
        out = run(
            [
                *(BIN / "ansible-galaxy", "collection", "install", "--offline"),
                *("--collections-path", scratch, self.tarball),
            ],
            env=dict(self.env, ANSIBLE_COLLECTIONS_PATH=str(scratch)),
            expect_failure=True,
        )
        missing = [name for name in self.dependencies if name not in out]
        if missing:
            raise Failure(f"the failure does not name {', '.join(missing)}:\n{out}")
        return "without them the install stops: " + " ".join(
            line.strip() for line in out.splitlines() if "dependency of" in line
        )

    def install(self):
        if self.collections.exists() and any(self.collections.iterdir()):
            raise Failure(f"{self.collections} is not empty")
        versions = self.build_dependency_tarballs()
        dependency_tarballs = sorted(self.deps_dir.glob("*.tar.gz"))
        run(
            [
                *(BIN / "ansible-galaxy", "collection", "install", "--offline"),
                *("--collections-path", self.collections, self.tarball, *dependency_tarballs),
            ],
            env=self.env,
        )
        root = self.collections / "ansible_collections"
        installed = sorted(
            f"{ns.name}.{name.name}"
            for ns in root.iterdir()
            if ns.is_dir()
            for name in ns.iterdir()
        )
        expected = sorted({"sbs.postfix", *versions})
        if installed != expected:
            raise Failure(f"installed {installed}, expected {expected}")
        for name, version in versions.items():
            manifest = root.joinpath(*name.split("."), "MANIFEST.json")
            with open(manifest, encoding="utf-8") as handle:
                got = json.load(handle)["collection_info"]["version"]
            if got != version:
                raise Failure(f"{name} {got} installed, {version} built")
        return ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))

    def plugins_resolve(self):
        """Every plugin the content names from a dependency exists in the installed copy."""
        root = self.collections / "ansible_collections"
        missing = []
        count = 0
        for collection, names in sorted(self.references().items()):
            installed = root.joinpath(*collection)
            runtime = installed / "meta" / "runtime.yml"
            routing = {}
            if runtime.is_file():
                with open(runtime, encoding="utf-8") as handle:
                    routing = (yaml.safe_load(handle) or {}).get("plugin_routing") or {}
            for fqcn, where in sorted(names.items()):
                short = fqcn.split(".")[2]
                count += 1
                if not list(installed.glob(f"plugins/*/{short}.py")) and not any(
                    short in (entries or {}) for entries in routing.values()
                ):
                    missing.append(f"{fqcn} (used in {where})")
        if missing:
            raise Failure("not found in the installed collections:\n" + "\n".join(missing))
        return f"{count} plugins"

    # ---- 5. playbooks from the installed copy -------------------------------------------------

    def inventory(self):
        return self.installed / "docs" / "examples" / "inventory" / "hosts.yml"

    def example_valid(self):
        specs = self.installed.glob("roles/*/meta/argument_specs.yml")
        roles = sorted(path.parent.parent.name for path in specs)
        out = run(
            [
                BIN / "ansible-playbook",
                *("-i", self.inventory(), ROOT / "tests" / "packaging" / "validate_example.yml"),
                *("-e", f"sbs_package_collection_dir={self.installed}"),
                *("-e", json.dumps({"sbs_package_roles": roles})),
            ],
            env=self.env,
            cwd=self.work,
        )
        checked = sorted(set(re.findall(r"^ok: \[[^]]+\] => \(item=(\w+)\)", out, re.M)))
        if not roles or checked != roles:
            raise Failure(f"validated {checked}, the collection has {roles}:\n{out}")
        return "argument specs of " + ", ".join(checked)

    def site_syntax_check(self):
        run(
            [
                BIN / "ansible-playbook",
                "-i",
                self.inventory(),
                "sbs.postfix.site",
                "--syntax-check",
            ],
            env=self.env,
            cwd=self.work,
        )

    def site_list_tasks(self):
        out = run(
            [BIN / "ansible-playbook", "-i", self.inventory(), "sbs.postfix.site", "--list-tasks"],
            env=self.env,
            cwd=self.work,
        )
        with open(self.installed / "playbooks" / "site.yml", encoding="utf-8") as handle:
            plays = yaml.safe_load(handle)
        # Statically imported roles list their own tasks ("sbs.postfix.tls : ..."); a role
        # included at run time (an optional contributor) lists as its include task.
        tasks_of = [
            task
            for play in plays
            for section in ("pre_tasks", "tasks", "post_tasks")
            for task in play.get(section) or []
        ]
        imported = {
            task["ansible.builtin.import_role"]["name"]
            for task in tasks_of
            if "ansible.builtin.import_role" in task
        } | {
            entry if isinstance(entry, str) else entry.get("role", entry.get("name"))
            for play in plays
            for entry in play.get("roles") or []
        }
        included = [task["name"] for task in tasks_of if "ansible.builtin.include_role" in task]
        absent = sorted(role for role in imported if f"{role} : " not in out)
        absent += [name for name in included if name not in out]
        if not imported or absent:
            raise Failure(
                f"--list-tasks shows no task of {', '.join(absent) or 'any role'}:\n{out}"
            )
        tasks = [line for line in out.splitlines() if " : " in line]
        return (
            f"{len(tasks)} tasks listed from {len(imported)} imported roles, "
            f"{len(included)} included roles"
        )

    # ---- 6. execution environment -------------------------------------------------------------

    def requirement_files_parse(self):
        from bindep.depends import Depends
        from packaging.requirements import Requirement

        python = []
        for raw in (self.extracted / "requirements.txt").read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                python.append(Requirement(line).name)
        system = Depends((self.extracted / "bindep.txt").read_text())
        packages = sorted({rule[0] for rule in system._rules})
        return f"python: {', '.join(python)}; system: {', '.join(packages)}"

    def ee_create(self):
        definition = self.extracted / "docs" / "examples" / "execution-environment.yml"
        # The layout a user has after `ansible-galaxy collection build` in the collection root.
        shutil.copy2(self.tarball, self.extracted / self.tarball.name)
        context = self.work / "ee-context"
        run(
            [BIN / "ansible-builder", "create", "-f", definition, "--context", context],
            env=self.env,
            cwd=self.extracted,
        )
        copied = list(context.glob(f"_build/**/{self.tarball.name}"))
        if len(copied) != 1 or sha256(copied[0]) != sha256(self.tarball):
            raise Failure(f"the build context does not hold {self.tarball.name}: {copied}")
        with open(context / "_build" / "requirements.yml", encoding="utf-8") as handle:
            requirements = yaml.safe_load(handle)
        names = [entry["name"] for entry in requirements.get("collections") or []]
        if not any(name.endswith("/" + self.tarball.name) for name in names):
            raise Failure(f"_build/requirements.yml installs {names}, not {self.tarball.name}")
        containerfile = (context / "Containerfile").read_text()
        source = "/".join(copied[0].relative_to(context).parts[:-1])
        target = os.path.dirname(next(n for n in names if n.endswith("/" + self.tarball.name)))
        for needle in (
            f"COPY {source}/ {target}/",
            "ansible-galaxy collection install",
            "introspect.py introspect",
        ):
            if needle not in containerfile:
                raise Failure(f"the Containerfile lacks {needle!r}:\n{containerfile}")
        return f"context with {copied[0].relative_to(context)}"

    def ee_introspect(self):
        # What the image build's introspection step reads from the installed collections.
        script = self.work / "ee-context" / "_build" / "scripts" / "introspect.py"
        out = run([sys.executable, script, "introspect", self.collections], env=self.env)
        data = yaml.safe_load(out.split("---", 1)[1])
        python = [line.split("#")[0].strip() for line in data.get("python") or []]
        system = [line.split("#")[0].strip() for line in data.get("system") or []]
        ours = [line for line in data.get("python") or [] if "sbs.postfix" in line]
        if not any(line.startswith("netaddr") for line in ours):
            raise Failure(f"introspection does not find sbs.postfix's netaddr:\n{out}")
        if not any(line.startswith("openssh-client") for line in system):
            raise Failure(f"introspection does not find sbs.postfix's bindep.txt:\n{out}")
        return f"python: {', '.join(python)}; system: {', '.join(system)}"

    # ---- README -------------------------------------------------------------------------------

    def readme_commands(self):
        text = (ROOT / "README.md").read_text()
        section = text.split("## Using the collection on your hosts", 1)[-1].split("\n## ", 1)[0]
        needed = [
            f"ansible-galaxy collection install {self.tarball.name}",
            "ansible-playbook -i docs/examples/inventory/hosts.yml sbs.postfix.site",
        ]
        absent = [command for command in needed if command not in section]
        if absent:
            raise Failure(
                "README.md's 'Using the collection on your hosts' lacks:\n" + "\n".join(absent)
            )


def bundled_collections():
    site = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"
    if not site.is_dir():
        return set()
    return {
        (namespace.name, name.name)
        for namespace in site.iterdir()
        if namespace.is_dir()
        for name in namespace.iterdir()
        if (name / "MANIFEST.json").is_file()
    }


def main():
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="sbs-package-")
    test = PackageTest(work)
    try:
        test.check("build the tarball", test.build, fatal=True)
        test.check("tarball holds what users need", test.contents_required)
        test.check("tarball holds nothing else", test.contents_nothing_else)
        test.check("collections used are declared in galaxy.yml", test.dependencies_declared)
        test.check("offline install without dependencies fails", test.install_needs_dependencies)
        test.check("install into an empty collections path", test.install, fatal=True)
        test.check("plugins from dependencies resolve", test.plugins_resolve)
        test.check("example inventory matches the argument specs", test.example_valid)
        test.check("sbs.postfix.site --syntax-check", test.site_syntax_check)
        test.check("sbs.postfix.site --list-tasks", test.site_list_tasks)
        test.check("requirements.txt and bindep.txt parse", test.requirement_files_parse)
        test.check("ansible-builder create", test.ee_create)
        test.check("ansible-builder introspection", test.ee_introspect)
        test.check("README installs the tarball and uses the example", test.readme_commands)
    finally:
        if KEEP:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"({time.monotonic() - started:.0f} s)")
    return test.close()


if __name__ == "__main__":
    sys.exit(main())
