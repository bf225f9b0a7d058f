package io.sparkprop.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The per-iteration and per-epoch records of a training run, in order. */
public final class TrainingHistory implements Serializable {
    private static final long serialVersionUID = 1L;

    private final List<IterationRecord> iterations = new ArrayList<>();
    private final List<EpochRecord> epochs = new ArrayList<>();

    void add(IterationRecord r) {
        iterations.add(r);
    }

    void add(EpochRecord r) {
        epochs.add(r);
    }

    /** Every iteration, in order (unmodifiable). */
    public List<IterationRecord> iterations() {
        return Collections.unmodifiableList(iterations);
    }

    /** Every completed epoch, in order (unmodifiable). */
    public List<EpochRecord> epochs() {
        return Collections.unmodifiableList(epochs);
    }

    /** The batch objective of every iteration, in order. */
    public double[] lossHistory() {
        double[] losses = new double[iterations.size()];
        for (int i = 0; i < losses.length; i++) {
            losses[i] = iterations.get(i).loss();
        }
        return losses;
    }
}
