package io.sparkprop.ml;

import java.io.Serializable;
import java.util.List;

import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.TrainingHistory;

/**
 * What the fit that made an MLP model recorded: the loss of every iteration, and per epoch the
 * training loss, elapsed time and — with a validation indicator column — the validation loss and
 * accuracy; and the best epoch.
 */
public final class MlpTrainingSummary implements Serializable {
    private static final long serialVersionUID = 1L;

    private final TrainingHistory history;
    private final int bestEpoch;

    MlpTrainingSummary(TrainingHistory history, int bestEpoch) {
        this.history = history;
        this.bestEpoch = bestEpoch;
    }

    /** The batch objective of every iteration. */
    public double[] lossHistory() {
        return history.lossHistory();
    }

    /** Every iteration's record (loss, step size, examples, blocks, time). */
    public List<IterationRecord> iterations() {
        return history.iterations();
    }

    /** Every epoch's record (loss, elapsed time, validation loss and accuracy). */
    public List<EpochRecord> epochs() {
        return history.epochs();
    }

    /** Number of epochs run. */
    public int totalEpochs() {
        return history.epochs().size();
    }

    /** The validation loss of every epoch (NaN without validation rows). */
    public double[] validationLossHistory() {
        return history.epochs().stream().mapToDouble(EpochRecord::validationLoss).toArray();
    }

    /** The validation accuracy of every epoch (NaN without validation rows). */
    public double[] validationAccuracyHistory() {
        return history.epochs().stream().mapToDouble(EpochRecord::validationAccuracy).toArray();
    }

    /** The 0-based epoch with the lowest validation loss (the model's weights with early stopping), or −1. */
    public int bestEpoch() {
        return bestEpoch;
    }
}
