package io.sparkprop.train;

import java.io.Serializable;

/**
 * One round of a training run: one Spark job, one merge, one driver-side update. A synchronous round
 * ({@code localSteps = 1}) is one mini-batch update; a round of local steps covers up to {@code localSteps}.
 *
 * @param epoch          0-based epoch
 * @param iteration      0-based round over the whole run
 * @param updates        mini-batch updates the round applied (0 if it found no example of positive weight)
 * @param loss           the objective on the round's examples, each at the parameters its step started from:
 *                       {@code (1/Σw) Σ_i w_i C_i + (λ/2) Σ_l ‖W_l‖²}
 * @param stepSize       the step size {@code η_t} of the schedule ({@link StepSchedule}) at the round's first update
 * @param examples       examples in the batch
 * @param blocks         blocks the iteration read (counted on the executors)
 * @param millis         wall time of the round on the driver (broadcast, tasks, merge, update)
 * @param gradientNorm   with {@code clipNorm > 0}: the largest global norm {@code ‖g‖} of the round's gradients
 *                       before clipping (ridge term included); NaN without clipping
 * @param clipped        updates of the round whose gradient was clipped to {@code clipNorm}
 */
public record IterationRecord(int epoch, long iteration, long updates, double loss, double stepSize, long examples, long blocks,
                              double millis, double gradientNorm, long clipped) implements Serializable {
    /** Examples per second of wall time. */
    public double examplesPerSecond() {
        return millis > 0 ? examples / (millis / 1e3) : Double.NaN;
    }
}
