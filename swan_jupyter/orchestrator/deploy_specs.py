"""Local checks of a deploy spec (an LDL deploy YAML or a Dockerfile) before anything is created or paid.

The Orchestrator takes the text as it is and fails later, after the payment; these checks refuse what cannot
deploy with the problem and its line: a YAML that does not parse, is not a mapping, has no ``services`` or a
service without ``image``; a Dockerfile whose first instruction is not ``FROM`` (``ARG`` may come before it),
a ``FROM`` without an image, or an instruction Docker does not know. PyYAML is imported only when a YAML is
checked.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ValidationError

#: The largest spec text accepted (the Orchestrator stores it in a form field).
MAX_SPEC_CHARS = 256 * 1024

#: Every Dockerfile instruction (Dockerfile reference, 2024).
DOCKERFILE_INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})

_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
YAML_HINT = 'An LDL deploy YAML looks like:\n  version: "2.0"\n  services:\n    web:\n      image: nginx:latest'


def _bounded(text: str, kind: str) -> None:
    if len(text) > MAX_SPEC_CHARS:
        raise ValidationError(f"The {kind} is {len(text)} characters long; at most {MAX_SPEC_CHARS} are accepted.")


def check_deploy_yaml(text: str) -> dict[str, Any]:
    """The parsed deploy YAML, or a :class:`ValidationError` naming the problem and its line."""
    import yaml

    _bounded(text, "deploy YAML")
    try:
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ValidationError(f"The deploy YAML does not parse{where}: {problem}.",
                              hint="Fix that line; nothing was created or paid. " + YAML_HINT) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"The deploy YAML does not parse: {exc}.", hint=YAML_HINT) from None
    if not isinstance(doc, dict):
        raise ValidationError(f"The deploy YAML must be a mapping (key: value lines), not a {type(doc).__name__}.",
                              hint=YAML_HINT)
    services = doc.get("services")
    if not isinstance(services, dict) or not services:
        raise ValidationError("The deploy YAML has no 'services' mapping, so there is nothing to run.",
                              hint=YAML_HINT)
    for name, service in services.items():
        if not isinstance(service, dict) or not isinstance(service.get("image"), str) or not service["image"]:
            raise ValidationError(f"Service {name!r} of the deploy YAML has no image.",
                                  hint=f"Give it one: services: {{{name}: {{image: nginx:latest}}}}.")
    return doc


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, instruction word, arguments) of each instruction: comments, blank lines, continuation
    lines and heredoc bodies skipped."""
    found: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        logical = rest
        while logical.rstrip().endswith("\\") and i < len(lines):  # a continuation: the next line belongs here
            logical = logical.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
        found.append((number, word, logical.strip()))
        for marker in _HEREDOC.findall(logical):
            while i < len(lines) and lines[i].strip() != marker:
                i += 1
            i += 1
    return found


def check_dockerfile(text: str) -> None:
    """A :class:`ValidationError` naming the line when ``text`` cannot be a Dockerfile."""
    _bounded(text, "Dockerfile")
    hint = "A Dockerfile starts with FROM IMAGE (ARG lines may come first); see the Dockerfile reference."
    seen_from = False
    for number, word, args in _instructions(text):
        upper = word.upper()
        if upper not in DOCKERFILE_INSTRUCTIONS:
            raise ValidationError(f"Dockerfile line {number}: {word!r} is not a Dockerfile instruction.", hint=hint)
        if upper == "FROM":
            if not args:
                raise ValidationError(f"Dockerfile line {number}: FROM needs an image (FROM python:3.11).")
            seen_from = True
        elif upper != "ARG" and not seen_from:
            raise ValidationError(f"Dockerfile line {number}: {upper} comes before any FROM.", hint=hint)
    if not seen_from:
        raise ValidationError("The Dockerfile has no FROM instruction.", hint=hint)


def _url(value: str, name: str, schemes: tuple[str, ...]) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in schemes or not parts.netloc or len(value) > 2048 or any(c.isspace() for c in value):
        raise ValidationError(f"{name} {value[:80]!r} is not an {' or '.join(schemes)} URL.",
                              hint=f"Give the full address, e.g. {schemes[0]}://github.com/me/app.")


def check_sources(*, deploy_yaml: str | None = None, dockerfile: str | None = None, repo_uri: str | None = None,
                  job_source_uri: str | None = None, repo_branch: str | None = None) -> None:
    """Check whichever source is given, locally: a spec (see :func:`check_deploy_yaml` and
    :func:`check_dockerfile`), a repository or job source URI (an http(s) URL; ipfs too for a job source), a
    branch name (no spaces, bounded)."""
    if deploy_yaml:
        check_deploy_yaml(deploy_yaml)
    if dockerfile:
        check_dockerfile(dockerfile)
    if repo_uri:
        _url(repo_uri, "repo_uri", ("https", "http"))
    if job_source_uri:
        _url(job_source_uri, "job_source_uri", ("https", "http", "ipfs"))
    if repo_branch is not None and (not repo_branch.strip() or len(repo_branch) > 255
                                    or any(c.isspace() or c in "~^:?*[\\" for c in repo_branch)):
        raise ValidationError(f"repo_branch {repo_branch[:80]!r} is not a branch name.",
                              hint="Branch names have no spaces or ~^:?*[\\ characters (main, dev, feature/x).")
