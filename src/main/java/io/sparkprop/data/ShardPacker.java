package io.sparkprop.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.ejml.data.DMatrixRMaj;

/**
 * Packs the examples of one partition into a {@link Shard}, streaming: one block of {@code blockSize}
 * columns is filled at a time (column {@code j} of {@code X} is example {@code j}'s features), and
 * class-index targets become one-hot columns. Every example is checked as it is packed; the first
 * bad one fails the partition with a message naming the row and the expected and found values.
 */
public final class ShardPacker implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final int numFeatures;
    private final int numOutputs;
    private final int blockSize;

    /**
     * @param numFeatures {@code n}, the network's input size
     * @param numOutputs  {@code m}, the network's output size
     * @param blockSize   columns per block, ≥ 1
     */
    public ShardPacker(int numFeatures, int numOutputs, int blockSize) {
        if (numFeatures <= 0 || numOutputs <= 0) {
            throw new IllegalArgumentException("expected positive feature and output counts, found "
                    + numFeatures + " and " + numOutputs);
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("blockSize must be > 0, found " + blockSize);
        }
        this.numFeatures = numFeatures;
        this.numOutputs = numOutputs;
        this.blockSize = blockSize;
    }

    /**
     * Receives the blocks of {@link #forEachBlock}: {@code x} ({@code n×B}), {@code y} ({@code m×B}) and
     * the weights, {@code null} when every weight in the block is 1. The arrays may be modified; they
     * are reused for the next block.
     */
    @FunctionalInterface
    public interface BlockConsumer {
        void accept(DMatrixRMaj x, DMatrixRMaj y, double[] weights);
    }

    /**
     * Packs every example of {@code examples} (partition {@code partition}) into a shard that keeps all
     * its blocks.
     *
     * @throws IllegalArgumentException on the first example with a wrong feature count, a non-finite
     *                                  feature or target, a bad class index, or a negative or non-finite weight
     */
    public Shard pack(int partition, Iterator<Example> examples) {
        List<DMatrixRMaj> xs = new ArrayList<>();
        List<DMatrixRMaj> ys = new ArrayList<>();
        List<double[]> ws = new ArrayList<>();
        boolean[] allUnit = {true};
        Totals totals = fill(partition, examples, false, (x, y, w) -> {
            xs.add(x);
            ys.add(y);
            ws.add(w);
            allUnit[0] &= isAllOnes(w);
        });
        return new Shard(partition, xs.toArray(new DMatrixRMaj[0]), ys.toArray(new DMatrixRMaj[0]),
                allUnit[0] ? null : ws.toArray(new double[0][]), totals.count, totals.weightSum);
    }

    /**
     * Streams the blocks of {@code examples} to {@code consumer} without keeping them: one set of
     * block buffers is reused, so memory stays at one block whatever the partition's size.
     *
     * @return the number of examples
     * @throws IllegalArgumentException as {@link #pack}
     */
    public long forEachBlock(int partition, Iterator<Example> examples, BlockConsumer consumer) {
        return fill(partition, examples, true, (x, y, w) -> consumer.accept(x, y, isAllOnes(w) ? null : w)).count;
    }

    private static final class Totals {
        long count;
        double weightSum;
    }

    /**
     * Fills blocks column by column. With {@code reuse} the same buffers serve every block (cleared
     * after the consumer, so sparse rows and one-hot targets start from zeros); without, every block
     * is new. The last, short block is handed over exactly sized.
     */
    private Totals fill(int partition, Iterator<Example> examples, boolean reuse, BlockConsumer consumer) {
        Totals totals = new Totals();
        DMatrixRMaj x = null;
        DMatrixRMaj y = null;
        double[] w = null;
        int col = 0;
        while (examples.hasNext()) {
            Example e = examples.next();
            if (x == null) {
                x = new DMatrixRMaj(numFeatures, blockSize);
                y = new DMatrixRMaj(numOutputs, blockSize);
                w = new double[blockSize];
            }
            long row = totals.count;
            putFeatures(e.features(), x, col, partition, row);
            putTarget(e.target(), y, col, partition, row);
            double weight = e.weight();
            if (!(weight >= 0) || Double.isInfinite(weight)) {
                throw new IllegalArgumentException("expected a finite weight >= 0, found " + weight
                        + " in " + where(partition, row));
            }
            totals.weightSum += weight;
            w[col] = weight;
            col++;
            totals.count++;
            if (col == blockSize) {
                consumer.accept(x, y, w);
                col = 0;
                if (reuse) {
                    Arrays.fill(x.data, 0.0);
                    Arrays.fill(y.data, 0.0);
                } else {
                    x = null;
                }
            }
        }
        if (col > 0) {
            consumer.accept(firstColumns(x, col), firstColumns(y, col), Arrays.copyOf(w, col));
        }
        return totals;
    }

    private static boolean isAllOnes(double[] w) {
        for (double v : w) {
            if (v != 1.0) {
                return false;
            }
        }
        return true;
    }

    private void putFeatures(Vector v, DMatrixRMaj x, int col, int partition, long row) {
        if (v.size() != numFeatures) {
            throw new IllegalArgumentException("expected " + numFeatures + " features, found " + v.size()
                    + " in " + where(partition, row));
        }
        double[] d = x.data;
        int stride = x.numCols;
        if (v instanceof DenseVector) {
            double[] values = ((DenseVector) v).values();
            for (int i = 0; i < numFeatures; i++) {
                double value = values[i];
                if (!Double.isFinite(value)) {
                    throw nonFinite("feature " + i, value, partition, row);
                }
                d[i * stride + col] = value;
            }
        } else if (v instanceof SparseVector) {
            SparseVector s = (SparseVector) v;
            int[] indices = s.indices();
            double[] values = s.values();
            for (int k = 0; k < indices.length; k++) {
                double value = values[k];
                if (!Double.isFinite(value)) {
                    throw nonFinite("feature " + indices[k], value, partition, row);
                }
                // the block is freshly zeroed, so only the stored entries need writing
                d[indices[k] * stride + col] = value;
            }
        } else {
            for (int i = 0; i < numFeatures; i++) {
                double value = v.apply(i);
                if (!Double.isFinite(value)) {
                    throw nonFinite("feature " + i, value, partition, row);
                }
                d[i * stride + col] = value;
            }
        }
    }

    private void putTarget(double[] target, DMatrixRMaj y, int col, int partition, long row) {
        double[] d = y.data;
        int stride = y.numCols;
        if (target.length == numOutputs) {
            for (int i = 0; i < numOutputs; i++) {
                if (!Double.isFinite(target[i])) {
                    throw nonFinite(numOutputs == 1 ? "the label" : "target " + i, target[i], partition, row);
                }
                d[i * stride + col] = target[i];
            }
        } else if (target.length == 1) {
            double label = target[0];
            if (!(label >= 0 && label < numOutputs && label == Math.rint(label))) {
                throw new IllegalArgumentException("expected a class index in 0.." + (numOutputs - 1)
                        + ", found " + label + " in " + where(partition, row));
            }
            d[(int) label * stride + col] = 1.0;
        } else {
            throw new IllegalArgumentException("expected a target of " + numOutputs
                    + " values or one class index, found " + target.length + " values in " + where(partition, row));
        }
    }

    private static IllegalArgumentException nonFinite(String what, double value, int partition, long row) {
        return new IllegalArgumentException(what + " is " + value + " in " + where(partition, row)
                + "; remove or impute non-finite values before training");
    }

    private static String where(int partition, long row) {
        return "row " + row + " of partition " + partition;
    }

    /** The first {@code cols} columns of {@code m} as an exactly sized matrix. */
    private static DMatrixRMaj firstColumns(DMatrixRMaj m, int cols) {
        DMatrixRMaj out = new DMatrixRMaj(m.numRows, cols);
        for (int i = 0; i < m.numRows; i++) {
            System.arraycopy(m.data, i * m.numCols, out.data, i * cols, cols);
        }
        return out;
    }
}
