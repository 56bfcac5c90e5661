"""The prompt registry: versioned prompts under ``prompts/<name>/``, loadable by name from any pipeline.

    import gepa.registry
    prompt = gepa.registry.load("sentiment@production")
    messages = prompt.messages(text="I loved it")

Layout (plain files a person can read and diff in code review):

    prompts/<name>/v0001/<component>.txt   the component texts, immutable once written
    prompts/<name>/v0001/meta.json         source run and task, models, scores, content hash, parent, time
    prompts/<name>/aliases.json            {"latest": 1, "production": 1, ...}

Exports take a per-prompt file lock, so two concurrent exports create two versions and lose nothing;
the same content exported twice reuses its version. A version is written in a hidden temporary folder and
renamed into place, so a killed export leaves no half version behind; a version folder without meta.json
(left by an older gepa) is passed over, never reused or overwritten.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from gepa.core.candidate import NAME, Candidate, content_hash, name_problem, render
from gepa.errors import RegistryError
from gepa.jsonfiles import atomic_write, load_json, write_json
from gepa.system import chat_turns

VERSION_DIR = re.compile(r"^v(\d{4,})$")


def checked(value: str, kind: str = "prompt name") -> str:
    """``value`` if it is safe as one path part (a prompt, alias or component name); else a RegistryError.

    Every name that reaches a path goes through here, so nothing is ever read or written outside the registry.
    """
    if problem := name_problem(value, kind):
        raise RegistryError(problem)
    return value


def default_root() -> Path:
    """``$GEPA_PROMPTS_DIR``, else ``./prompts``."""
    return Path(os.environ.get("GEPA_PROMPTS_DIR", "prompts"))


@dataclass(frozen=True, kw_only=True)
class PromptVersion:
    """One immutable version of a named prompt."""

    name: str
    version: int
    components: Mapping[str, str]
    meta: Mapping[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def candidate(self) -> Candidate:
        return Candidate(components=self.components)

    def render(self, **fields: Any) -> dict[str, str]:
        """Each component with its ``{{field}}`` placeholders filled."""
        return {name: render(text, fields) for name, text in self.components.items()}

    def messages(self, **fields: Any) -> list[dict[str, str]]:
        """Chat messages the way gepa ran them: ``system`` first, the other components as the user turn."""
        return chat_turns(self.render(**fields))


VERSION_REF = re.compile(r"[vV]?\d+")


def version_number(text: str) -> str:
    """``v3`` or ``3`` as ``3``: versions are printed with their ``v`` and accepted with or without it."""
    return text.lstrip("vV")


def parse_ref(ref: str) -> tuple[str, str]:
    """``name``, ``name@alias``, ``name@3`` or ``name@v3`` (versions print as ``v3``) to (name, selector); a bare
    name means ``latest``."""
    name, _, selector = ref.partition("@")
    checked(name)
    selector = version_number(selector) if VERSION_REF.fullmatch(selector) else selector
    if selector and not selector.isdigit():
        checked(selector, "alias")
    return name, selector or "latest"


class PromptRegistry:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    # -- reading ----------------------------------------------------------------------------------
    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.fullmatch(p.name))

    def versions(self, name: str) -> list[int]:
        folder = self.root / checked(name)
        if not folder.is_dir():
            raise RegistryError(f"no prompt named {name!r} in {self.root}; known: {', '.join(self.names()) or 'none'}")
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := VERSION_DIR.match(p.name)))

    def aliases(self, name: str) -> dict[str, int]:
        path = self.root / checked(name) / "aliases.json"
        if not path.is_file():
            return {}
        try:
            data = load_json(path)
        except ValueError as exc:
            raise RegistryError(f"{path}: not valid JSON ({exc}); fix or delete the file") from exc
        if not isinstance(data, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
            raise RegistryError(f'{path}: must map alias names to version numbers, e.g. {{"production": 2}}')
        return data

    def get(self, ref: str) -> PromptVersion:
        name, selector = parse_ref(ref)
        versions = self.versions(name)
        if selector.isdigit():
            number = int(selector)
        else:
            aliases = self.aliases(name)
            if selector == "latest" and "latest" not in aliases and versions:
                number = versions[-1]
            elif selector not in aliases:
                raise RegistryError(
                    f"prompt {name!r} has no alias {selector!r}; aliases: {', '.join(sorted(aliases)) or 'none'}"
                )
            else:
                number = aliases[selector]
        if number not in versions:
            raise RegistryError(f"prompt {name!r} has no version {number}; versions: {versions}")
        return self._read(name, number)

    def _read(self, name: str, number: int) -> PromptVersion:
        folder = self.root / checked(name) / f"v{number:04d}"
        meta_path = folder / "meta.json"
        try:
            meta = load_json(meta_path)
        except FileNotFoundError as exc:
            raise RegistryError(f"{meta_path}: missing; the version folder is incomplete") from exc
        except ValueError as exc:
            raise RegistryError(f"{meta_path}: not valid JSON ({exc})") from exc
        names = meta.get("components") if isinstance(meta, dict) else None
        if not isinstance(names, list) or not names:
            raise RegistryError(f"{meta_path}: must list its 'components'")
        if not isinstance(meta.get("content_hash"), str):
            raise RegistryError(
                f"{meta_path}: has no 'content_hash'; every exported version records one, so this "
                "folder was not written by gepa export: export the prompt again"
            )
        components = {}
        for component in names:
            if problem := name_problem(component, "component name"):
                raise RegistryError(f"{meta_path}: {problem}")
            path = folder / f"{component}.txt"
            if not path.is_file():
                raise RegistryError(f"{path}: missing, but {meta_path.name} lists component {component!r}")
            try:
                components[component] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise RegistryError(
                    f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
                ) from None
        if content_hash(components) != meta["content_hash"]:
            raise RegistryError(
                f"{folder}: the component files were edited after export (content hash "
                f"mismatch); versions are immutable: export a new version instead"
            )
        return PromptVersion(name=name, version=number, components=components, meta=meta)

    # -- writing ----------------------------------------------------------------------------------
    def publish(
        self, name: str, components: Mapping[str, str], meta: Mapping[str, Any], alias: str | None = None
    ) -> tuple[PromptVersion, bool]:
        """Register ``components`` as a new version (or find the identical one); returns (version, created)."""
        folder = self.root / checked(name)
        for component in components:
            checked(component, "component name")
        if alias is not None:
            checked(alias, "alias")
        folder.mkdir(parents=True, exist_ok=True)
        digest = content_hash(components)
        with FileLock(str(folder / ".lock")):
            self._sweep(folder)
            numbers = self._numbers(folder)
            existing = [self._read(name, v) for v in numbers if (folder / f"v{v:04d}" / "meta.json").is_file()]
            same = next((v for v in existing if v.meta.get("content_hash") == digest), None)
            if same is not None:
                version, created = same, False
            else:
                number = (numbers[-1] if numbers else 0) + 1
                full_meta = {
                    **meta,
                    "components": list(components),
                    "content_hash": digest,
                    "parent_version": existing[-1].version if existing else None,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
                self._write_version(folder / f"v{number:04d}", components, full_meta)
                version, created = (
                    PromptVersion(name=name, version=number, components=dict(components), meta=full_meta),
                    True,
                )
                self._set_aliases(name, {"latest": number})
            if alias:
                self._set_aliases(name, {alias: version.version})
        return version, created

    @staticmethod
    def _write_version(target: Path, components: Mapping[str, str], meta: Mapping[str, Any]) -> None:
        """Write the version in a hidden temporary folder, then rename it to ``target``: whole or absent."""
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
        try:
            for component, text in components.items():
                atomic_write(staging / f"{component}.txt", text)
            write_json(staging / "meta.json", meta)
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @staticmethod
    def _sweep(folder: Path) -> None:
        """Remove the temporary folders of exports that were killed (only the lock holder writes them)."""
        for leftover in folder.glob(".v*.tmp"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)

    def promote(self, name: str, version: int, alias: str) -> None:
        checked(alias, "alias")
        if not (self.root / checked(name)).is_dir():
            raise RegistryError(f"no prompt named {name!r} in {self.root}; known: {', '.join(self.names()) or 'none'}")
        with FileLock(str(self.root / name / ".lock")):
            if version not in self.versions(name):
                raise RegistryError(f"prompt {name!r} has no version {version}")
            self._set_aliases(name, {alias: version})

    def _numbers(self, folder: Path) -> list[int]:
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := VERSION_DIR.match(p.name)))

    def _set_aliases(self, name: str, updates: Mapping[str, int]) -> None:
        aliases = {**self.aliases(name), **updates}
        write_json(self.root / name / "aliases.json", dict(sorted(aliases.items())))


def load(ref: str, root: str | Path | None = None) -> PromptVersion:
    """Load ``name@alias`` / ``name@version`` / ``name`` (latest) from the registry."""
    return PromptRegistry(root).get(ref)
