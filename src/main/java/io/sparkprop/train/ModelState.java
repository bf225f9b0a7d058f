package io.sparkprop.train;

import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.Optimizer;

/**
 * The driver's state between rounds: the current parameters {@code θ} (replaced by each update,
 * never mutated, so a broadcast of them needs no copy), the optimiser's state on the flat layout,
 * and the number of updates applied (Adam's step counter and the decay schedule advance on these,
 * not on rounds that found no example of positive weight; a round of local steps that updates advances
 * it by its steps, each shard's schedule being fixed before it learns what the others found). With local
 * steps the rule's state is the shards' weighted mean at the end of the last round, which the next round
 * ships, and the outer update's state ({@link LocalStepsRound}: its Nesterov velocity) is kept here too,
 * after the inner rule's.
 */
final class ModelState {
    Parameters current;
    final Optimizer.Updater updater;
    /** The outer update's state with local steps; {@code null} for synchronous rounds. */
    final Optimizer.Updater outer;
    long updates;

    ModelState(Parameters initial, Optimizer rule, Optimizer outerRule) {
        this.current = initial;
        this.updater = rule.newUpdater(initial.size());
        this.outer = outerRule == null ? null : outerRule.newUpdater(initial.size());
    }

    /** The optimisers' state arrays, live: the rule's, then the outer update's. */
    double[][] optimizerState() {
        double[][] inner = updater.state();
        if (outer == null) {
            return inner;
        }
        double[][] o = outer.state();
        double[][] all = java.util.Arrays.copyOf(inner, inner.length + o.length);
        System.arraycopy(o, 0, all, inner.length, o.length);
        return all;
    }

    /** Restores parameters, optimiser state and update count from a checkpoint. */
    void restore(double[] parameters, double[][] optimizerState, long updateCount) {
        current = Parameters.fromFlat(current.spec(), parameters);
        int inner = updater.state().length;
        updater.copyStateFrom(java.util.Arrays.copyOfRange(optimizerState, 0, inner));
        if (outer != null) {
            outer.copyStateFrom(java.util.Arrays.copyOfRange(optimizerState, inner, optimizerState.length));
        }
        updates = updateCount;
    }
}
