package io.sparkprop.train;

import java.io.Serializable;

/**
 * One epoch of a training run.
 *
 * @param epoch         0-based epoch
 * @param loss          mean of the epoch's batch objectives weighted by batch weight:
 *                      {@code Σ_t Σ_{i∈t} w_i C_i / Σ_t Σ_{i∈t} w_i + (λ/2) Σ_l ‖W_l‖²} (weights at the epoch's end)
 * @param elapsedMillis wall time since training started (packing excluded)
 * @param validationLoss     mean loss {@code Σ w C / Σ w} on the validation data at the epoch's end
 *                           (no ridge term), or NaN without validation data
 * @param validationAccuracy weighted fraction of validation examples whose largest output matches the
 *                           largest target (accuracy, for a classifier), or NaN without validation data
 */
public record EpochRecord(int epoch, double loss, double elapsedMillis, double validationLoss,
                          double validationAccuracy) implements Serializable {
}
