package io.sparkprop.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reason to stop after an epoch, asked by the loop in a fixed order (early stopping before
 * convergence); {@code maxEpochs} is the loop's bound and divergence ends a round with an exception,
 * so neither is a rule here.
 */
interface StoppingRule {
    Logger LOG = LoggerFactory.getLogger(StoppingRule.class);

    /**
     * What the loop knows after an epoch.
     *
     * @param epoch             the epoch just run (0-based)
     * @param loss              its loss
     * @param previousLoss      the previous epoch's loss (NaN before the second)
     * @param meaningful        whether the loss is small enough for its relative changes to mean anything
     * @param bestEpoch         the epoch of the lowest validation loss so far, or −1
     */
    record EpochEnd(int epoch, double loss, double previousLoss, boolean meaningful, int bestEpoch) {
    }

    /** {@link Checkpoints.Stop#NONE} to go on, or why to stop. */
    Checkpoints.Stop check(EpochEnd end);

    /** The rules of these settings, in the order the loop asks them. */
    static StoppingRule[] of(MlpSettings settings) {
        return new StoppingRule[] {new Patience(settings.patience()), new Tolerance(settings.tol())};
    }

    /** Early stopping: {@code patience} epochs without a lower validation loss; 0 = off. */
    record Patience(int patience) implements StoppingRule {
        @Override
        public Checkpoints.Stop check(EpochEnd end) {
            if (patience > 0 && end.epoch() - end.bestEpoch() >= patience) {
                LOG.info("sparkprop: early stop after epoch {}: no lower validation loss for {} epochs; keeping "
                        + "epoch {}", end.epoch() + 1, patience, end.bestEpoch() + 1);
                return Checkpoints.Stop.EARLY_STOPPED;
            }
            return Checkpoints.Stop.NONE;
        }
    }

    /** Convergence: the epoch loss changed by at most {@code tol} relative to the previous one; 0 = never. */
    record Tolerance(double tol) implements StoppingRule {
        @Override
        public Checkpoints.Stop check(EpochEnd end) {
            if (tol > 0 && end.epoch() > 0 && end.meaningful()
                    && Math.abs(end.loss() - end.previousLoss()) <= tol * Math.abs(end.previousLoss())) {
                LOG.info("sparkprop: converged after epoch {} (relative loss change <= tol {})", end.epoch() + 1, tol);
                return Checkpoints.Stop.CONVERGED;
            }
            return Checkpoints.Stop.NONE;
        }
    }
}
