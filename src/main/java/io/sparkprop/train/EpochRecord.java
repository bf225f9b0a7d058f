package io.sparkprop.train;

import java.io.Serializable;

/**
 * One epoch of a training run.
 *
 * @param epoch         0-based epoch
 * @param loss          mean of the epoch's batch objectives weighted by batch weight:
 *                      {@code Σ_t Σ_{i∈t} w_i C_i / Σ_t Σ_{i∈t} w_i + (λ/2) Σ_l ‖W_l‖²} (weights at the epoch's end)
 * @param elapsedMillis wall time since training started (packing excluded)
 */
public record EpochRecord(int epoch, double loss, double elapsedMillis) implements Serializable {
}
