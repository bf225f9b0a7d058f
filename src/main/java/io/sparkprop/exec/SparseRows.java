package io.sparkprop.exec;

import io.sparkprop.util.Internal;

/**
 * A partition's examples as compressed sparse rows, checked and in canonical order
 * ({@link ShardPacker#sparseRows}): row {@code i}'s non-zero features are {@code indices[rowStart[i] ..
 * rowStart[i+1])} (ascending) with their {@code values}; its {@code m} targets are {@code targets[i·m ..]}
 * (class indices one-hot, as packed), its weight {@code weights[i]}. For passes that sum over rows — the ridge
 * statistics — without a dense row of every feature. The arrays are shared, not copied: do not modify.
 */
@Internal
public final class SparseRows {
    private final int numFeatures;
    private final int numOutputs;
    private final int[] rowStart;
    private final int[] indices;
    private final double[] values;
    private final double[] targets;
    private final double[] weights;

    SparseRows(int numFeatures, int numOutputs, int[] rowStart, int[] indices, double[] values, double[] targets,
               double[] weights) {
        this.numFeatures = numFeatures;
        this.numOutputs = numOutputs;
        this.rowStart = rowStart;
        this.indices = indices;
        this.values = values;
        this.targets = targets;
        this.weights = weights;
    }

    /** Number of rows. */
    public int count() {
        return weights.length;
    }

    /** {@code n}, the feature count of every row. */
    public int numFeatures() {
        return numFeatures;
    }

    /** {@code m}, the target count of every row. */
    public int numOutputs() {
        return numOutputs;
    }

    /** Row {@code i}'s non-zeros are at {@code rowStart[i] .. rowStart[i+1]) of {@link #indices()}, {@link #values()}. */
    public int[] rowStart() {
        return rowStart;
    }

    /** Feature indices of the non-zeros, ascending within a row. */
    public int[] indices() {
        return indices;
    }

    /** The non-zero values. */
    public double[] values() {
        return values;
    }

    /** The rows' targets, {@code m} each. */
    public double[] targets() {
        return targets;
    }

    /** The rows' weights. */
    public double[] weights() {
        return weights;
    }
}
