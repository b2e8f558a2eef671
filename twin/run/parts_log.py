"""The per-part table of a run: every part that entered a conveyor, when it entered and left, where it
left and in what state (results.h5 `/parts`).

Inside a jitted chunk the parts that leave are appended to a fixed-size `Log` per conveyor (a chunk
can see at most the parts on the belt at its start plus one entry per step leave); between chunks the
host collects them (`PartsLog`), and at the end adds the parts still on the line.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from twin.kernels.pytree import pytree_dataclass
from twin.line.part_flow import Exits
from twin.model import Layout, State

# column -> (unit, meaning), in table order
COLUMNS = {
    "id": ("", "entry number on its conveyor, 0, 1, …"),
    "conveyor": ("", "conveyor name"),
    "time_in": ("s", "when it entered the conveyor (interpolated within the step)"),
    "time_out": ("s", "when it left (NaN: still on the line at the end)"),
    "left_at": ("", "robot that picked it, 'end' for the path end of a conveyor without robots, '' if still on"),
    "temperature_at_pick": ("degC", "part temperature when it left (NaN if still on)"),
    "cure_at_pick": ("1", "cure degree when it left (NaN if still on)"),
}


@pytree_dataclass
class Log:
    """Parts that left during one chunk, per conveyor (c, L); `count` rows are filled."""

    count: Int[Array, " c"]
    id: Int[Array, "c L"]
    t_in: Float[Array, "c L"]
    t_out: Float[Array, "c L"]
    pick_point: Int[Array, "c L"]
    T: Float[Array, "c L"]
    alpha: Float[Array, "c L"]


def empty(layout: Layout, steps: int, dtype) -> Log:
    """A log with room for one chunk of `steps` steps."""
    shape = (len(layout.conveyors), layout.capacity + steps)
    zeros = jnp.zeros(shape, dtype)
    ints = jnp.zeros(shape, jnp.int32)
    return Log(
        count=jnp.zeros(shape[0], jnp.int32), id=ints, t_in=zeros, t_out=zeros, pick_point=ints, T=zeros, alpha=zeros
    )


def append(log: Log, exits: Exits) -> Log:
    """Append this step's leavers, in slot order."""
    row = log.count[:, None] + jnp.cumsum(exits.left, axis=1, dtype=jnp.int32) - 1
    row = jnp.where(exits.left, row, log.id.shape[1])  # out of range: dropped
    conveyor = jnp.broadcast_to(jnp.arange(row.shape[0])[:, None], row.shape)

    def put(column, values):
        return column.at[conveyor, row].set(values.astype(column.dtype), mode="drop")

    return Log(
        count=log.count + jnp.sum(exits.left, axis=1, dtype=jnp.int32),
        id=put(log.id, exits.id),
        t_in=put(log.t_in, exits.t_in),
        t_out=put(log.t_out, exits.t_out),
        pick_point=put(log.pick_point, exits.pick_point),
        T=put(log.T, exits.T),
        alpha=put(log.alpha, exits.alpha),
    )


class PartsLog:
    """Host-side collector of the chunks' logs."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.rows: list[dict[str, np.ndarray]] = []

    def collect(self, log: Log) -> None:
        log = {k: np.asarray(v) for k, v in vars(log).items()}
        for c, conveyor in enumerate(self.layout.conveyors):
            n = int(log["count"][c])
            if n:
                places = np.asarray([r or "end" for r in conveyor.robots], object)
                self.rows.append(
                    dict(
                        id=log["id"][c, :n].astype(np.int64),
                        conveyor=np.full(n, conveyor.name, object),
                        time_in=log["t_in"][c, :n].astype(float),
                        time_out=log["t_out"][c, :n].astype(float),
                        left_at=places[log["pick_point"][c, :n]],
                        temperature_at_pick=log["T"][c, :n].astype(float),
                        cure_at_pick=log["alpha"][c, :n].astype(float),
                    )
                )

    def columns(self) -> dict[str, np.ndarray]:
        """The parts collected so far, one array per column (rows in the order collected)."""
        return {k: np.concatenate([r[k] for r in self.rows]) if self.rows else _empty(k) for k in COLUMNS}

    def restore(self, columns: dict[str, np.ndarray]) -> None:
        """Take up from `columns()` of an earlier collector (a checkpoint)."""
        self.rows = [columns] if len(columns["id"]) else []

    def table(self, final: State) -> dict[str, np.ndarray]:
        """Every part: those that left, then those still on the line; sorted by conveyor and id."""
        parts = final.parts
        alive = np.asarray(parts.alive)
        for c, conveyor in enumerate(self.layout.conveyors):
            n = int(alive[c].sum())
            if n:
                nan = np.full(n, np.nan)
                self.rows.append(
                    dict(
                        id=np.asarray(parts.id)[c][alive[c]].astype(np.int64),
                        conveyor=np.full(n, conveyor.name, object),
                        time_in=np.asarray(parts.t_in, float)[c][alive[c]],
                        time_out=nan,
                        left_at=np.full(n, "", object),
                        temperature_at_pick=nan,
                        cure_at_pick=nan,
                    )
                )
        table = self.columns()
        position = {c.name: i for i, c in enumerate(self.layout.conveyors)}
        order = np.lexsort((table["id"], [position[name] for name in table["conveyor"]]))
        return {k: v[order] for k, v in table.items()}


def _empty(column: str) -> np.ndarray:
    return np.zeros(0, object if column in ("conveyor", "left_at") else np.int64 if column == "id" else float)
