"""Engines: one module per task behind :class:`ganpaint.engines.base.Engine`, and the model registry.

``ENGINE_MODULES`` lists the modules the registry imports (lazily, on first need) to discover
:class:`~ganpaint.engines.base.Engine` subclasses; each subclass declares the model-card
``architecture`` values it can load. A module that fails to import is reported in
``ModelRegistry.problems`` and does not stop the other engines.
"""

#: Module names scanned for Engine subclasses, in order (first class to claim an architecture wins).
ENGINE_MODULES: tuple[str, ...] = ("ganpaint.engines.inpaint", "ganpaint.engines.segment", "ganpaint.engines.synthesis",
                                   "ganpaint.engines.semantic_edit", "ganpaint.engines.colorize",
                                   "ganpaint.engines.manifold")
