package io.sparkprop.ml;

import java.io.Serializable;
import java.util.List;

import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.IterationRecord;
import io.sparkprop.train.TrainingHistory;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.ml.classification.TrainingSummary;
import org.apache.spark.ml.util.Summary;

/**
 * What the fit that made an MLP model recorded: the loss of every iteration, and per epoch the
 * training loss, elapsed time and — with a validation indicator column — the validation loss and
 * accuracy; and the best epoch. As Spark ML's training summaries, it answers {@link #objectiveHistory()} and
 * {@link #totalIterations()}, which a Spark Connect client reads ({@code model.summary.objectiveHistory}).
 */
public final class MlpTrainingSummary implements Serializable, Summary, TrainingSummary {
    private static final long serialVersionUID = 1L;

    private final TrainingHistory history;
    private final int bestEpoch;
    private final String gemm;
    private final List<String> otherGemmFingerprints;
    private final String precision;
    private final int localSteps;

    MlpTrainingSummary(TrainingResult result) {
        this.precision = result.precision().lowerName();
        this.localSteps = result.localSteps();
        this.history = result.history();
        this.bestEpoch = result.bestEpoch();
        this.gemm = result.gemm();
        this.otherGemmFingerprints = List.copyOf(result.otherGemmFingerprints());
    }

    /**
     * The format the fit trained in, {@code float64} or {@code float32} (the model's weights are doubles either
     * way; the model's {@code precision} param says the same).
     */
    public String precision() {
        return precision;
    }

    /**
     * The local steps the fit took a round: 1 = synchronous SGD (also when an epoch was one update), else the
     * {@code k} set or, with {@code localSteps = auto} (the default), the one the trainer picked.
     */
    public int localSteps() {
        return localSteps;
    }

    /** The GEMM backend the driver chose for every executor, with its fingerprint (BLAS library, OpenBLAS core type, CPU). */
    public String gemm() {
        return gemm;
    }

    /**
     * Whether every executor's BLAS matched the driver's fingerprint: then the model is the same bits as
     * any run of the same data, seed and shards with that backend and fingerprint. False when some
     * executor's BLAS ran on another kind of CPU or library ({@link #otherGemmFingerprints()}).
     */
    public boolean bitsPortable() {
        return otherGemmFingerprints.isEmpty();
    }

    /** The executors' GEMM fingerprints that differed from the driver's. */
    public List<String> otherGemmFingerprints() {
        return otherGemmFingerprints;
    }

    /** The batch objective of every iteration. */
    public double[] lossHistory() {
        return history.lossHistory();
    }

    /** {@link #lossHistory()}, by the name Spark ML's training summaries give it. */
    @Override
    public double[] objectiveHistory() {
        return lossHistory();
    }

    /** The number of iterations (updates of the driver's parameters): the length of {@link #lossHistory()}. */
    @Override
    public int totalIterations() {
        return history.lossHistory().length;
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

    /**
     * The validation accuracy of every epoch: NaN (absent) without validation rows, and for a regressor,
     * whose identity output has no accuracy.
     */
    public double[] validationAccuracyHistory() {
        return history.epochs().stream().mapToDouble(EpochRecord::validationAccuracy).toArray();
    }

    /** The 0-based epoch with the lowest validation loss (the model's weights with early stopping), or −1. */
    public int bestEpoch() {
        return bestEpoch;
    }
}
