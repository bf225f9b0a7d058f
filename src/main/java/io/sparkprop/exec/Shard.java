package io.sparkprop.exec;

import java.io.Serializable;

import io.sparkprop.linalg.Precision;
import io.sparkprop.util.Internal;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.Matrix;

/**
 * One partition's examples packed once into blocks of columns: block {@code k} holds
 * {@code X_k ∈ R^{n×B_k}}, {@code Y_k ∈ R^{m×B_k}} and, when any example of the partition has a
 * weight other than 1, the weights {@code w_k}. Every block has {@code blockSize} columns but the
 * last, which may be shorter. Blocks are stored exactly sized, so the shard's memory is the raw
 * values plus a few object headers. {@code X} and {@code Y} are {@link DMatrixRMaj} in a float64 shard and
 * {@link FMatrixRMaj} (half the bytes) in a float32 one; weights are always doubles. A block of sparse
 * examples holds {@code X} as a {@link DMatrixSparseCSC} instead (one compressed column per example: 12
 * bytes per non-zero, a double and its feature index, and 4 per example), in either precision
 * ({@link ShardPacker#withSparseThreshold}).
 *
 * <p>Immutable once built; random access by block id, so an iteration reads only the blocks it uses.
 */
@Internal
public final class Shard implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int partition;
    private final Precision precision;
    private final Matrix[] features;
    private final Matrix[] targets;
    /** Per-block weights, or {@code null} when every weight of the partition is 1. */
    private final double[][] weights;
    private final long count;
    private final double weightSum;

    Shard(int partition, Precision precision, Matrix[] features, Matrix[] targets, double[][] weights, long count,
          double weightSum) {
        this.partition = partition;
        this.precision = precision;
        this.features = features;
        this.targets = targets;
        this.weights = weights;
        this.count = count;
        this.weightSum = weightSum;
    }

    /** The Spark partition this shard was packed from. */
    public int partition() {
        return partition;
    }

    /** The format of {@code X} and {@code Y}. */
    public Precision precision() {
        return precision;
    }

    /** Number of blocks. */
    public int numBlocks() {
        return features.length;
    }

    /**
     * {@code X_k}, {@code n × B_k}: dense in the shard's {@link #precision()}, or a {@link DMatrixSparseCSC}
     * (values double) for a sparse block; do not modify.
     */
    public Matrix features(int block) {
        return features[block];
    }

    /** {@code Y_k}, {@code m × B_k}, in the shard's {@link #precision()}; do not modify. */
    public Matrix targets(int block) {
        return targets[block];
    }

    /** Weights of block {@code k}, or {@code null} for all 1; do not modify. */
    public double[] weights(int block) {
        return weights == null ? null : weights[block];
    }

    /** Number of examples. */
    public long count() {
        return count;
    }

    /** Sum of the examples' weights. */
    public double weightSum() {
        return weightSum;
    }

    /** Bytes of the values this shard holds (features and targets in its precision, weights as doubles). */
    public long payloadBytes() {
        long values = 0;
        long doubles = 0;
        long sparse = 0;
        for (int k = 0; k < features.length; k++) {
            if (features[k] instanceof DMatrixSparseCSC) {
                DMatrixSparseCSC x = (DMatrixSparseCSC) features[k];
                sparse += 12L * x.nz_length + 4L * (x.numCols + 1);
            } else {
                values += (long) features[k].getNumRows() * features[k].getNumCols();
            }
            values += (long) targets[k].getNumRows() * targets[k].getNumCols();
            if (weights != null) {
                doubles += weights[k].length;
            }
        }
        return precision.bytes() * values + 8 * doubles + sparse;
    }

    /** Number of blocks whose {@code X} is held sparse. */
    public int sparseBlocks() {
        int s = 0;
        for (Matrix x : features) {
            if (x instanceof DMatrixSparseCSC) {
                s++;
            }
        }
        return s;
    }

    /** Number of feature values the blocks hold: the non-zeros of sparse blocks, {@code n·B} of dense ones. */
    public long featureValues() {
        long s = 0;
        for (Matrix x : features) {
            s += x instanceof DMatrixSparseCSC ? ((DMatrixSparseCSC) x).nz_length
                    : (long) x.getNumRows() * x.getNumCols();
        }
        return s;
    }
}
