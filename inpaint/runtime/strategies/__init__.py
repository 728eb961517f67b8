"""How a picture of any size meets a network trained at one size: ``--strategy auto|crop|resize|full``.

Modules: :mod:`.windows` (the crop planner), :mod:`.resample` (shrink / enlarge without full-size
floats), :mod:`.crop`, :mod:`.resize`, :mod:`.full` (each strategy), :mod:`.memory` (working-memory
figures and the memory available), :mod:`.choose` (what ``auto`` picks). The entry point that runs them
is :func:`inpaint.runtime.pipeline.inpaint_arrays`.
"""

from inpaint.runtime.strategies.choose import STRATEGIES, check_strategy, choose_strategy, working_size

__all__ = ["STRATEGIES", "check_strategy", "choose_strategy", "working_size"]
