#!/usr/bin/python3
"""examples_ci.py KIND FILE JOB: write on stdout a bash script that runs the
steps of one job of a CI config, as the CI service would, for
tests/cli/examples.bats (examples/ci-github, examples/ci-gitlab).

KIND github: FILE is a GitHub Actions workflow; JOB's env becomes defaults
(a variable already set in the environment wins, so a test can point
COLLECTION at its data), each `run:` step runs in its own bash -eo pipefail
(GitHub's default shell), in order, stopping at the first that fails.
Steps that `uses:` an action, and the steps named in SKIP (which install
packages and build the programs: the test suite has done both), are left
out. KIND gitlab: FILE is a .gitlab-ci.yml; the global variables, then the
job's, become defaults, and the job's `script:` lines run in one shell
that stops at the first failing line, then `after_script` whatever the
status; `default: before_script` (package installation) is left out.

Each step left out is named on stderr, "skip: NAME", so the test can
check that nothing else was."""
import shlex
import sys

import yaml

SKIP = {"install dependencies", "build"}


def defaults(env):
    out = []
    for k, v in (env or {}).items():
        out.append(': "${%s=%s}"; export %s' % (k, str(v).replace('"', '\\"'), k))
    return out


def main():
    kind, path, job = sys.argv[1:4]
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    lines = ["#!/bin/bash"]
    if kind == "github":
        j = doc["jobs"][job]
        lines += defaults(j.get("env"))
        for i, step in enumerate(j["steps"], 1):
            name = step.get("name") or step.get("uses") or "step %d" % i
            if "uses" in step or name in SKIP:
                print("skip: %s" % name, file=sys.stderr)
                continue
            lines.append("echo %s >&2" % shlex.quote("step: " + name))
            lines.append("bash --noprofile --norc -eo pipefail -c %s || exit $?"
                         % shlex.quote(step["run"]))
    elif kind == "gitlab":
        j = doc[job]
        if "before_script" in doc.get("default", {}):
            print("skip: default before_script", file=sys.stderr)
        lines += defaults(doc.get("variables"))
        lines += defaults(j.get("variables"))
        lines.append("(")
        lines.append("set -e")
        for cmd in j["script"]:
            lines.append("echo %s >&2" % shlex.quote("$ " + cmd))
            lines.append(cmd)
        lines.append(")")
        lines.append("rc=$?")
        # after_script runs whatever the script's status, in a new shell
        for cmd in j.get("after_script", []):
            lines.append("echo %s >&2" % shlex.quote("$ " + cmd))
            lines.append("bash -c %s" % shlex.quote(cmd))
        lines.append("exit $rc")
    else:
        sys.exit("examples_ci.py: unknown kind %r" % kind)
    print("\n".join(lines))


main()
