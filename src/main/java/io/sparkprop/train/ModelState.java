package io.sparkprop.train;

import io.sparkprop.nn.Parameters;

/**
 * The driver's state between rounds: the current parameters {@code θ} (replaced by each update,
 * never mutated, so a broadcast of them needs no copy), the optimiser's state on the flat layout,
 * and the number of updates applied (Adam's step counter and the decay schedule advance on these,
 * not on rounds that found no example of positive weight).
 */
final class ModelState {
    Parameters current;
    final Optimizer.Updater updater;
    long updates;

    ModelState(Parameters initial, Optimizer rule) {
        this.current = initial;
        this.updater = rule.newUpdater(initial.size());
    }

    /** Restores parameters, optimiser state and update count from a checkpoint. */
    void restore(double[] parameters, double[][] optimizerState, long updateCount) {
        current = Parameters.fromFlat(current.spec(), parameters);
        double[][] state = updater.state();
        for (int i = 0; i < state.length; i++) {
            System.arraycopy(optimizerState[i], 0, state[i], 0, state[i].length);
        }
        updates = updateCount;
    }
}
