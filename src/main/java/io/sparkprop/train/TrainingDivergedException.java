package io.sparkprop.train;

import io.sparkprop.nn.Parameters;

/**
 * Training produced a non-finite loss, gradient or parameter. Carries the last finite parameters
 * (those the failing iteration started from) and the history up to the failure.
 */
public final class TrainingDivergedException extends ArithmeticException {
    private static final long serialVersionUID = 1L;

    private final transient Parameters lastFiniteParameters;
    private final transient TrainingHistory history;
    private final int epoch;
    private final long iteration;

    TrainingDivergedException(String message, int epoch, long iteration, Parameters lastFiniteParameters,
                              TrainingHistory history) {
        super(message);
        this.epoch = epoch;
        this.iteration = iteration;
        this.lastFiniteParameters = lastFiniteParameters;
        this.history = history;
    }

    /** The parameters before the failing update; all finite. */
    public Parameters lastFiniteParameters() {
        return lastFiniteParameters;
    }

    /** The history up to, not including, the failing iteration. */
    public TrainingHistory history() {
        return history;
    }

    /** 0-based epoch of the failing iteration. */
    public int epoch() {
        return epoch;
    }

    /** 0-based index of the failing iteration. */
    public long iteration() {
        return iteration;
    }
}
