package io.sparkprop.train;

import java.io.Serializable;

/**
 * One iteration (one parameter update) of a training run.
 *
 * @param epoch          0-based epoch
 * @param iteration      0-based iteration over the whole run
 * @param loss           the objective on the iteration's batch before the update:
 *                       {@code (1/Σw) Σ_i w_i C_i + (λ/2) Σ_l ‖W_l‖²}
 * @param stepSize       the optimiser's step size {@code η_t}
 * @param examples       examples in the batch
 * @param blocks         blocks the iteration read (counted on the executors)
 * @param millis         wall time of the iteration on the driver (broadcast, aggregation, update)
 */
public record IterationRecord(int epoch, long iteration, double loss, double stepSize, long examples, long blocks,
                              double millis) implements Serializable {
    /** Examples per second of wall time. */
    public double examplesPerSecond() {
        return millis > 0 ? examples / (millis / 1e3) : Double.NaN;
    }
}
