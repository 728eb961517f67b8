"""Deterministic, resumable batching: which items, with which random seeds, at every step.

The keys of a step are a pure function of ``(seed, step, rank, world_size, batch_size,
n_items)``, so a run resumed at step ``k`` sees exactly the batches the uninterrupted run
would have seen from step ``k`` on, whatever the number of DataLoader workers. No global
random state is read or changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: one training sample: (index into the image folder, seed of that sample's crop and mask)
Key = tuple[int, int]


def sample_seed(seed: int, step: int, slot: int) -> int:
    """A 64-bit seed for the sample in position ``slot`` of the global batch of ``step``:
    ``SeedSequence([seed, step, slot])``, so nearby keys give unrelated streams."""
    return int(np.random.SeedSequence([seed, step, slot]).generate_state(1, dtype=np.uint64)[0])


class StepBatches:
    """Infinite iterable of this rank's batch keys, usable as a DataLoader ``batch_sampler``.

    The global batch of step ``s`` has ``batch_size * world_size`` slots; rank ``r`` gets slots
    ``r * batch_size ... (r + 1) * batch_size - 1``, so the ranks of one step never share a
    slot, and the union over ranks is what one rank with ``batch_size * world_size`` would get
    (same items, same seeds). Slots take items in order from the per-epoch permutations
    ``default_rng([seed, epoch]).permutation(n_items)``. When ``n_items`` is at least the global
    batch, each epoch uses the first ``n_items - n_items % global_batch`` items of its
    permutation (the rest, different ones each epoch, wait for a later epoch), so a step never
    holds an item twice; smaller sets simply cycle through their permutations.

    Each yielded batch is a list of keys ``(item_index, sample_seed)`` with
    ``sample_seed = sample_seed(seed, step, global_slot)``.

    Args:
        n_items: number of items (photos) to draw from.
        batch_size: items per rank and step.
        seed: run seed.
        start_step: first step yielded (the step a resumed run continues at).
        rank, world_size: this process's place in a DDP run.
    """

    def __init__(self, n_items: int, batch_size: int, seed: int, start_step: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        if n_items < 1 or batch_size < 1 or start_step < 0 or seed < 0:
            raise ValueError(f"need n_items >= 1, batch_size >= 1, seed >= 0 and start_step >= 0, "
                             f"got {n_items}, {batch_size}, {seed}, {start_step}")
        if not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank {rank} of {world_size}")
        self.n_items = int(n_items)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.start_step = int(start_step)
        self.rank = int(rank)
        self.world_size = int(world_size)
        global_batch = self.batch_size * self.world_size
        # items used per epoch: a whole number of global batches when there are enough items
        if self.n_items >= global_batch:
            self.epoch_items = self.n_items - self.n_items % global_batch
        else:
            self.epoch_items = self.n_items
        self._perm_epoch = -1
        self._perm = np.empty(0, np.int64)

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:  # steps move forward, so one cached epoch is enough
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n_items)
            self._perm_epoch = epoch
        return self._perm

    def keys(self, step: int) -> list[Key]:
        """This rank's keys ``(item_index, sample_seed)`` for global step ``step``."""
        global_batch = self.batch_size * self.world_size
        first = self.rank * self.batch_size
        out: list[Key] = []
        for slot in range(first, first + self.batch_size):
            epoch, position = divmod(step * global_batch + slot, self.epoch_items)
            item = int(self._permutation(epoch)[position])
            out.append((item, sample_seed(self.seed, step, slot)))
        return out

    def __iter__(self) -> Iterator[list[Key]]:
        """Batches of steps ``start_step, start_step + 1, ...`` forever (each new iterator,
        e.g. each ``iter(loader)``, starts again at ``start_step``)."""
        step = self.start_step
        while True:
            yield self.keys(step)
            step += 1
