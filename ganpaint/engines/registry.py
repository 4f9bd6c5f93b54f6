"""Model cards, the model registry, sha256 verification and safe weights loading.

A *model card* is a JSON file (``models/<name>.json``) describing one trained model: its task, its
network architecture and hyperparameters, its weights file (next to the card) with the file's
sha256, its labels, dataset, licence, training recipe and metrics. The registry reads every card of
the shipped ``models/`` folder and of the user's models folder, verifies weights before loading
them, and maps each card's ``architecture`` to the :class:`~ganpaint.engines.base.Engine` subclass
that serves it.

Weights are loaded only through safetensors, or ``torch.load(..., weights_only=True)`` for
``.pt``/``.pth`` files, so a weights file can never execute code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union


from ganpaint.engines.base import Engine
from ganpaint.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Weights file suffixes the registry can load.
WEIGHTS_SUFFIXES = (".safetensors", ".pt", ".pth")

#: Largest model card file read, in bytes (cards are a few kilobytes).
MAX_CARD_BYTES = 4 * 2**20
#: Allowed working resolution of a card, in pixels.
RESOLUTION_RANGE = (8, 8192)
#: Longest list accepted for a numeric config entry checked by an engine's ``config_limits``.
MAX_CONFIG_LIST = 16

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HEX_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


# --------------------------------------------------------------------------------------- folders


def shipped_models_dir() -> Path:
    """The package's ``ganpaint/models/`` folder (cards and weights shipped with the app, package data)."""
    from ganpaint.paths import SHIPPED_MODELS

    return SHIPPED_MODELS


def user_models_dir() -> Path:
    """The user's models folder: ``<data dir>/models``.

    The data dir is ``$GANPAINT_DATA_DIR`` if set, else platformdirs'
    ``user_data_dir("ganpaint", "GANPaint")``. The folder is not created.
    """
    data = os.environ.get("GANPAINT_DATA_DIR")
    if data:
        return Path(data) / "models"
    import platformdirs

    return Path(platformdirs.user_data_dir("ganpaint", "GANPaint")) / "models"


def default_model_dirs() -> list[Path]:
    """Folders :meth:`ModelRegistry.default` reads, first wins on a name clash.

    ``$GANPAINT_MODELS_DIR`` (an ``os.pathsep``-separated list) replaces the whole default list
    ``[shipped_models_dir(), user_models_dir()]``.
    """
    env = os.environ.get("GANPAINT_MODELS_DIR")
    if env is not None:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [shipped_models_dir(), user_models_dir()]


# ------------------------------------------------------------------------------------ model card


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """One trained model, as described by its JSON card.

    Attributes:
        name: unique model name (what requests and settings refer to).
        task: engine task served, e.g. ``"inpaint"``.
        architecture: network architecture id an Engine class declares in ``architectures``.
        resolution: working resolution in pixels (the side the network was trained at), > 0.
        weights: weights file name, relative to the card's folder (``.safetensors``, ``.pt``, ``.pth``).
        sha256: lowercase hex sha256 of the weights file.
        config: architecture hyperparameters (channels, blocks...).
        labels: for label-conditioned models, a list of ``{"id": int, "name": str, "color": ...}``
            (color ``[r, g, b]`` in 0..255 or ``"#rrggbb"``); else ``None``.
        dataset: training data set description.
        licence: licence of the weights.
        training: how they were trained (``command``, ``steps``, ``compute``...).
        metrics: evaluation results.
        description: one paragraph for the model picker.
        card_path: the JSON file this card was read from.

    Cards are treated as immutable; do not mutate the dict/list fields.
    """

    name: str
    task: str
    architecture: str
    resolution: int
    weights: str
    sha256: str
    card_path: Path
    config: dict[str, Any] = field(default_factory=dict)
    labels: Optional[list[dict[str, Any]]] = None
    dataset: str = ""
    licence: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __hash__(self) -> int:
        return hash((self.name, self.card_path, self.sha256))

    @property
    def stochastic(self) -> bool:
        """Whether the model's output depends on the seed (``config["stochastic"]``; the studio shows the
        seed and dice only for such models)."""
        return self.config.get("stochastic") is True

    @property
    def weights_path(self) -> Path:
        """Absolute-or-as-given path of the weights file: ``card_path.parent / weights``."""
        return self.card_path.parent / self.weights

    @classmethod
    def from_json(cls, path: PathLike) -> "ModelCard":
        """Read and validate a card file.

        Raises:
            ModelError: unreadable file, larger than :data:`MAX_CARD_BYTES`, invalid JSON or nested
                deeper than :data:`ganpaint.jsonlimits.MAX_DEPTH`, a missing required field (``name``,
                ``task``, ``architecture``, ``resolution``, ``weights``, ``sha256``) or a field of the
                wrong type or range; the message names the card file.
        """
        from ganpaint.jsonlimits import loads_limited

        path = Path(path)
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_CARD_BYTES + 1)
            if len(raw) > MAX_CARD_BYTES:
                raise ModelError(f"model card '{path}' is larger than the {MAX_CARD_BYTES:,} bytes allowed")
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"cannot read model card '{path}' ({type(exc).__name__}: {_one_line(exc)})") from exc
        try:
            data = loads_limited(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"model card '{path}' is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
        except ValueError as exc:  # nesting too deep, or a number beyond Python's digit limit
            raise ModelError(f"model card '{path}' is not valid JSON ({_one_line(exc)})") from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, card_path: PathLike) -> "ModelCard":
        """Validate a parsed card; ``card_path`` is used for relative weights and in messages.

        Unknown keys are ignored (forward compatibility); ``"license"`` is accepted for ``licence``.

        Raises:
            ModelError: as :meth:`from_json`.
        """
        card_path = Path(card_path)

        def bad(msg: str) -> ModelError:
            return ModelError(f"model card '{card_path}': {msg}")

        from ganpaint.jsonlimits import MAX_DEPTH, nesting_ok

        if not isinstance(data, dict):
            raise bad(f"expected a JSON object, got {type(data).__name__}")
        if not nesting_ok(data, MAX_DEPTH):
            raise bad(f"it nests deeper than {MAX_DEPTH} levels")
        missing = [k for k in ("name", "task", "architecture", "resolution", "weights", "sha256") if k not in data]
        if missing:
            raise bad(f"missing required field{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}")

        def text(key: str, default: Optional[str] = None, nonempty: bool = False) -> str:
            value = data.get(key, default)
            if not isinstance(value, str) or (nonempty and not value.strip()):
                kind = "a non-empty string" if nonempty else "a string"
                raise bad(f"field '{key}' must be {kind}, got {value!r}")
            return value

        def mapping(key: str) -> dict[str, Any]:
            value = data.get(key, {})
            if not isinstance(value, dict):
                raise bad(f"field '{key}' must be an object, got {type(value).__name__}")
            return value

        resolution = data["resolution"]
        low, high = RESOLUTION_RANGE
        if not isinstance(resolution, int) or isinstance(resolution, bool) or not low <= resolution <= high:
            raise bad(f"field 'resolution' must be an integer from {low} to {high} (pixels), got {_brief(resolution)}")

        weights = text("weights", nonempty=True)
        if (
            PurePosixPath(weights).is_absolute()
            or PureWindowsPath(weights).is_absolute()
            or PureWindowsPath(weights).drive
            or ".." in PurePosixPath(weights.replace("\\", "/")).parts
        ):
            raise bad(f"field 'weights' must be a file name relative to the card's folder, got {weights!r}")
        if not weights.lower().endswith(WEIGHTS_SUFFIXES):
            raise bad(f"field 'weights' must end in {', '.join(WEIGHTS_SUFFIXES)}, got {weights!r}")

        sha = data["sha256"]
        if not isinstance(sha, str) or not _SHA256_RE.match(sha.strip().lower()):
            raise bad(f"field 'sha256' must be 64 hexadecimal digits, got {sha!r}")

        labels = data.get("labels")
        if labels is not None:
            labels = _check_labels(labels, bad)

        licence = data["licence"] if "licence" in data else data.get("license", "")
        if not isinstance(licence, str):
            raise bad(f"field 'licence' must be a string, got {licence!r}")

        return cls(
            name=text("name", nonempty=True),
            task=text("task", nonempty=True),
            architecture=text("architecture", nonempty=True),
            resolution=resolution,
            weights=weights,
            sha256=sha.strip().lower(),
            card_path=card_path,
            config=mapping("config"),
            labels=labels,
            dataset=text("dataset", ""),
            licence=licence,
            training=mapping("training"),
            metrics=mapping("metrics"),
            description=text("description", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready data (without ``card_path``), suitable for :func:`write_card`."""
        out = dataclasses.asdict(self)
        del out["card_path"]
        return out


def _check_labels(labels: Any, bad: Any) -> list[dict[str, Any]]:
    if not isinstance(labels, list):
        raise bad(f"field 'labels' must be a list or null, got {type(labels).__name__}")
    seen: set[int] = set()
    for i, entry in enumerate(labels):
        if not isinstance(entry, dict):
            raise bad(f"labels[{i}] must be an object with 'id', 'name' and 'color'")
        lid, lname, color = entry.get("id"), entry.get("name"), entry.get("color")
        if not isinstance(lid, int) or isinstance(lid, bool) or not 0 <= lid <= 255:
            raise bad(f"labels[{i}].id must be an integer in 0..255, got {lid!r}")
        if lid in seen:
            raise bad(f"labels[{i}].id {lid} is used twice")
        seen.add(lid)
        if not isinstance(lname, str) or not lname:
            raise bad(f"labels[{i}].name must be a non-empty string, got {lname!r}")
        rgb_ok = (
            isinstance(color, list)
            and len(color) == 3
            and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)
        )
        if not rgb_ok and not (isinstance(color, str) and _HEX_COLOR_RE.match(color)):
            raise bad(f"labels[{i}].color must be [r, g, b] in 0..255 or '#rrggbb', got {color!r}")
    return labels


def _brief(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (messages quote untrusted card values)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_config_limits(card: ModelCard, limits: Mapping[str, tuple[float, float]]) -> None:
    """Check ``card.config`` against an engine's ``config_limits`` before anything is built.

    Args:
        card: the model card.
        limits: config key -> ``(min, max)``; a dotted key (``"options.ngf"``) names an entry of a nested
            object; an absent entry is fine (the engine's default applies); a list value has each element
            checked and at most :data:`MAX_CONFIG_LIST` elements.

    Raises:
        ModelError: "model card '<file>': config 'base_channels' must be a number from 1 to 128, got 2048".
    """
    for key, (low, high) in limits.items():
        value: Any = card.config
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        ok = len(values) <= MAX_CONFIG_LIST and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high for v in values
        )
        if not ok:
            what = "a list of at most {n} numbers from {low:g} to {high:g}" if isinstance(value, list) else \
                "a number from {low:g} to {high:g}"
            raise ModelError(f"model card '{card.card_path}': config '{key}' must be "
                             f"{what.format(n=MAX_CONFIG_LIST, low=low, high=high)}, got {_brief(value)}")


def write_card(card: Union[Mapping[str, Any], ModelCard], path: PathLike) -> Path:
    """Write a model card as indented UTF-8 JSON, atomically (temp file in the same folder, then
    ``os.replace``), so a crash never leaves a half-written card.

    Args:
        card: the card's data (a mapping, or a :class:`ModelCard`, written without ``card_path``).
        path: destination ``.json`` file; its folder must exist.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        OSError: the folder is not writable. TypeError: data not JSON-serialisable.
    """
    from ganpaint.document.atomic import atomic_write_bytes

    path = Path(path)
    data = card.to_dict() if isinstance(card, ModelCard) else dict(card)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------------- verification


def sha256_file(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """Lowercase hex sha256 of a file, streamed in ``chunk_size``-byte chunks.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_size)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def _cached_sha256(path: Path) -> str:
    """sha256 of ``path``, cached per (resolved path, mtime_ns, size). Raises OSError."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _hash_lock:
        hit = _hash_cache.get(key)
    if hit is not None:
        return hit
    digest = sha256_file(path)
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


def check_weights(card: ModelCard) -> Path:
    """Verify that ``card``'s weights file exists and matches its sha256 (hash cached).

    Returns:
        The weights path.

    Raises:
        ModelError: "weights file '<path>' for model '<name>' is missing", or "weights file '<path>'
            does not match its model card (sha256 <actual>... != expected <expected>...)", or the
            file cannot be read.
    """
    path = card.weights_path
    if not path.is_file():
        raise ModelError(f"weights file '{path}' for model '{card.name}' is missing")
    try:
        digest = _cached_sha256(path)
    except OSError as exc:
        raise ModelError(f"cannot read weights file '{path}' for model '{card.name}' ({exc.strerror or exc})") from exc
    if digest != card.sha256:
        raise ModelError(
            f"weights file '{path}' does not match its model card "
            f"(sha256 {digest[:12]}... != expected {card.sha256[:12]}...)"
        )
    return path


def load_state_dict(card: ModelCard) -> "dict[str, torch.Tensor]":
    """Verify and load ``card``'s weights on the CPU (engines move them to their device).

    ``.safetensors`` files are read with ``safetensors.torch.load_file``; ``.pt``/``.pth`` files only
    with ``torch.load(path, map_location="cpu", weights_only=True)`` (a top-level
    ``{"state_dict": {...}}`` wrapper is unwrapped). Safe to call from any thread.

    Returns:
        A dict mapping parameter names to CPU tensors.

    Raises:
        ModelError: missing file, sha256 mismatch (see :func:`check_weights`), a corrupt file, a
            pickle holding anything but tensors and plain containers, or an unsupported suffix; the
            message names the file.
    """
    path = check_weights(card)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path), device="cpu")
        except Exception as exc:
            raise ModelError(
                f"weights file '{path}' for model '{card.name}' is corrupt ({_one_line(exc)})"
            ) from exc
    elif suffix in (".pt", ".pth"):
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(
                f"weights file '{path}' for model '{card.name}' could not be loaded safely "
                f"(only tensors are allowed; {_one_line(exc)})"
            ) from exc
    else:
        raise ModelError(f"weights file '{path}' has an unsupported type (expected {', '.join(WEIGHTS_SUFFIXES)})")
    return _as_state_dict(state, path, card.name)


def load_frozen_network(net: "torch.nn.Module", card: ModelCard, state: "Optional[dict[str, torch.Tensor]]" = None) -> "torch.nn.Module":
    """Load ``card``'s verified weights (or ``state``) into ``net`` strictly, as fp32, for inference.

    The network is put in eval mode with gradients off. Returns ``net``.

    Raises:
        ModelError: weights missing or corrupt (see :func:`load_state_dict`), or their keys/shapes do not
            fit the architecture (the message gives the first line of PyTorch's complaint).
    """
    if state is None:
        state = load_state_dict(card)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"weights of model '{card.name}' do not fit its architecture ({_one_line(exc)})") from exc
    net.eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


#: how the messages of :meth:`ModelRegistry.model_for` name each task.
TASK_TITLES = {"inpaint": "inpainting", "synthesize": "semantic synthesis", "segment": "segmentation",
               "colorize": "colorization", "manifold": "GAN (latent projection)",
               "semantic-edit": "semantic photo editing"}


def _as_state_dict(state: Any, path: Path, name: str) -> "dict[str, torch.Tensor]":
    import torch

    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelError(f"weights file '{path}' for model '{name}' does not hold a mapping of names to tensors")
    return dict(state)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# ------------------------------------------------------------------------------- engine classes

_engine_classes: dict[str, type[Engine]] = {}
_module_problems: dict[str, Optional[str]] = {}  # module name -> problem (None: imported fine)
_engines_lock = threading.RLock()


def register_engine_class(cls: type[Engine]) -> type[Engine]:
    """Make ``cls`` serve every architecture in ``cls.architectures`` (replacing earlier classes).

    Usable as a class decorator; tests use it to plug in fake engines.

    Raises:
        TypeError: ``cls`` is not a concrete Engine subclass declaring at least one architecture.
    """
    if not (inspect.isclass(cls) and issubclass(cls, Engine)) or inspect.isabstract(cls):
        raise TypeError(f"{cls!r} is not a concrete Engine subclass")
    if not cls.architectures:
        raise TypeError(f"{cls.__name__} declares no architectures")
    with _engines_lock:
        for arch in cls.architectures:
            _engine_classes[arch] = cls
    return cls


def unregister_engine_class(cls: type[Engine]) -> None:
    """Remove ``cls`` from every architecture it serves (no error if it serves none)."""
    with _engines_lock:
        for arch in [a for a, c in _engine_classes.items() if c is cls]:
            del _engine_classes[arch]


def discover_engines() -> list[str]:
    """Import the modules in ``ganpaint.engines.ENGINE_MODULES`` (each once) and register their
    concrete Engine subclasses; explicitly registered classes keep their architectures.

    Returns:
        One sentence per module in ``ENGINE_MODULES`` that failed to import (never raises for that).
    """
    from ganpaint import engines

    modules = tuple(engines.ENGINE_MODULES)
    with _engines_lock:
        for name in modules:
            if name in _module_problems:
                continue
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                log.warning("engine module %s failed to import", name, exc_info=True)
                _module_problems[name] = f"engine module '{name}' could not be imported ({_one_line(exc)})"
                continue
            _module_problems[name] = None
            for obj in vars(module).values():
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, Engine)
                    and obj.__module__ == module.__name__
                    and not inspect.isabstract(obj)
                ):
                    for arch in obj.architectures:
                        _engine_classes.setdefault(arch, obj)
        return [p for n in modules if (p := _module_problems.get(n))]


def engine_classes() -> dict[str, type[Engine]]:
    """A copy of the architecture -> Engine class map (after :func:`discover_engines`)."""
    discover_engines()
    with _engines_lock:
        return dict(_engine_classes)


# ------------------------------------------------------------------------------------- registry


class ModelRegistry:
    """All model cards found in a list of folders.

    Cards are the ``*.json`` files directly inside each folder; a missing folder is skipped. When two
    cards share a name the one from the earlier folder wins and the other is reported in
    :attr:`problems`. A card that fails to parse, or whose config breaks its engine's
    ``config_limits``, is reported in :attr:`problems` once (with its file name) and left out, never
    raised, so the other models keep working. Reading is thread-safe after construction.

    Args:
        dirs: folders to read, in priority order.
    """

    def __init__(self, dirs: Iterable[PathLike]) -> None:
        self.dirs: list[Path] = [Path(d) for d in dirs]
        self._cards: dict[str, ModelCard] = {}
        self._card_problems: list[str] = []
        self.refresh()

    @classmethod
    def default(cls) -> "ModelRegistry":
        """The registry of :func:`default_model_dirs` (shipped + user folders, or ``$GANPAINT_MODELS_DIR``)."""
        return cls(default_model_dirs())

    def refresh(self) -> None:
        """Re-read every card (after the user dropped a new model into a folder)."""
        cards: dict[str, ModelCard] = {}
        problems: list[str] = []
        classes = engine_classes()
        for folder in self.dirs:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                if not path.is_file():  # a FIFO would block the read forever
                    problems.append(f"model card '{path}' is not a regular file and is ignored")
                    continue
                try:
                    card = ModelCard.from_json(path)
                    engine_class = classes.get(card.architecture)
                    if engine_class is not None:
                        check_config_limits(card, engine_class.config_limits)
                except ModelError as exc:
                    problems.append(str(exc))
                    continue
                if card.name in cards:
                    problems.append(
                        f"model card '{path}' repeats the name '{card.name}' of "
                        f"'{cards[card.name].card_path}' and is ignored"
                    )
                    continue
                cards[card.name] = card
        self._cards, self._card_problems = cards, problems

    @property
    def problems(self) -> list[str]:
        """One sentence per card that failed to parse or clashed, then per engine module that
        failed to import (importing engine modules if not done yet)."""
        return list(self._card_problems) + discover_engines()

    def cards(self, task: Optional[str] = None) -> list[ModelCard]:
        """Cards sorted by name, optionally only those of ``task``."""
        return sorted((c for c in self._cards.values() if task is None or c.task == task), key=lambda c: c.name)

    def names(self) -> list[str]:
        """Model names, sorted."""
        return sorted(self._cards)

    def get(self, name: str) -> ModelCard:
        """The card named ``name``.

        Raises:
            ModelError: "unknown model 'x' (available: a, b)".
        """
        card = self._cards.get(name)
        if card is None:
            available = ", ".join(self.names()) or "none"
            raise ModelError(f"unknown model '{name}' (available: {available})")
        return card

    def default_for(self, task: str) -> Optional[ModelCard]:
        """The model used for ``task`` when the user chose none: among the cards whose weights file
        exists, one marked ``config["default"] = true`` (a newer model that replaces an older one), else
        one for the default label set (``config["label_set"]`` ==
        :data:`ganpaint.labelsets.DEFAULT_LABEL_SET`), else the first by name; with no weights present, the
        first card by name; ``None`` if no card serves ``task``."""
        from ganpaint.labelsets import DEFAULT_LABEL_SET

        cards = self.cards(task)
        present = [card for card in cards if card.weights_path.is_file()]
        for card in present:
            if isinstance(card.config, dict) and card.config.get("default") is True:
                return card
        for card in present:
            if isinstance(card.config, dict) and card.config.get("label_set") == DEFAULT_LABEL_SET:
                return card
        return (present or cards or [None])[0]

    def model_for(self, task: str, name: Optional[str] = None) -> ModelCard:
        """The card of model ``name`` (or the task's default when None), checked to serve ``task``.

        Raises:
            ModelError: unknown name, no model installed for the task, or a model of another task.
        """
        title = TASK_TITLES.get(task, task)
        card = self.get(name) if name else self.default_for(task)
        if card is None:
            raise ModelError(f"no {title} model is installed (see 'ganpaint models list')")
        if card.task != task:
            raise ModelError(f"model '{card.name}' is a '{card.task}' model, not a {title} model")
        return card

    def verify(self, name: str) -> tuple[bool, str]:
        """Check that model ``name`` exists and its weights match their sha256 (hash cached).

        Returns:
            ``(True, "model 'x': weights ok (<path>)")`` or ``(False, <ModelError sentence>)``;
            never raises ModelError.
        """
        try:
            path = check_weights(self.get(name))
        except ModelError as exc:
            return False, str(exc)
        return True, f"model '{name}': weights ok ({path})"

    def verify_all(self) -> dict[str, tuple[bool, str]]:
        """:meth:`verify` for every card, keyed by model name (sorted)."""
        return {name: self.verify(name) for name in self.names()}

    def load_state_dict(self, card: Union[ModelCard, str]) -> "dict[str, torch.Tensor]":
        """Verify and load the weights of ``card`` (a card or a model name); see the module-level
        :func:`load_state_dict`.

        Raises:
            ModelError: unknown model, missing/mismatching/corrupt/unsafe weights file.
        """
        if isinstance(card, str):
            card = self.get(card)
        return load_state_dict(card)

    def create_engine(self, name: str) -> Engine:
        """Instantiate (without loading) the engine serving model ``name``.

        Raises:
            ModelError: unknown model, or no Engine class declares the card's architecture (the
                message adds engine-module import problems, if any), or that class serves another
                task than the card, or the card's config breaks the class's ``config_limits``.
        """
        card = self.get(name)
        import_problems = discover_engines()
        with _engines_lock:
            cls = _engine_classes.get(card.architecture)
        if cls is None:
            detail = f"; {'; '.join(import_problems)}" if import_problems else ""
            raise ModelError(
                f"no engine can run model '{name}' (architecture '{card.architecture}' is not provided "
                f"by any installed engine{detail})"
            )
        if cls.task and cls.task != card.task:
            raise ModelError(
                f"model card '{card.card_path}' says task '{card.task}' but its architecture "
                f"'{card.architecture}' serves task '{cls.task}'"
            )
        check_config_limits(card, cls.config_limits)
        engine = cls(card)
        engine.registry = self
        return engine
