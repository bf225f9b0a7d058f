package io.sparkprop.train;

import io.sparkprop.nn.Parameters;

/**
 * Called on the driver after every epoch, e.g. to evaluate on held-out data or to keep the best
 * weights. The time it takes is not counted in the epochs' elapsed times.
 */
@FunctionalInterface
public interface EpochListener {
    /**
     * @param epoch      the finished epoch's record
     * @param parameters the parameters at the end of the epoch (a copy the listener may keep)
     * @return {@code true} to go on training, {@code false} to stop after this epoch
     */
    boolean afterEpoch(EpochRecord epoch, Parameters parameters);
}
