package io.sparkprop.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.ejml.data.DMatrixRMaj;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Packs the examples of one partition into blocks of {@code blockSize} examples; class-index targets
 * become one-hot vectors. {@link #pack} keeps the blocks (a cached shard) and orders the examples
 * canonically first; {@link #forEachBlock} streams, one block at a time, in the order delivered.
 * Every example is checked as it is packed; the first bad one fails the partition with a message
 * naming the row and the expected and found values.
 *
 * <p>Two layouts. {@link Layout#COLUMNS} (the kernel's): example {@code j} is column {@code j} of
 * {@code X} ({@code n×B}) and {@code Y} ({@code m×B}). {@link Layout#ROWS}: example {@code j} is row
 * {@code j} of {@code X} ({@code B×n}) and {@code Y} ({@code B×m}) — a contiguous copy of each feature
 * vector, for passes that only need {@code XᵀX}-like products and would otherwise pay for scattering
 * every example across {@code n} rows.
 */
public final class ShardPacker implements java.io.Serializable {
    private static final Logger LOG = LoggerFactory.getLogger(ShardPacker.class);
    private static final long serialVersionUID = 1L;

    /** Where an example goes in a block. */
    public enum Layout {
        /** Example {@code j} is column {@code j}: {@code X} is {@code n×B}. */
        COLUMNS,
        /** Example {@code j} is row {@code j}: {@code X} is {@code B×n}. */
        ROWS
    }

    /** The advice that ends every message about a non-finite value: a job looks for it to name the file. */
    public static final String NON_FINITE_ADVICE = "remove or impute non-finite values before training";

    private final int numFeatures;
    private final int numOutputs;
    private final int blockSize;
    private final Layout layout;
    /** The DataFrame columns the features and the label came from, for messages; {@code null} if unknown. */
    private String featuresColumn;
    private String labelColumn;

    /**
     * A packer with examples as columns.
     *
     * @param numFeatures {@code n}, the network's input size
     * @param numOutputs  {@code m}, the network's output size
     * @param blockSize   examples per block, ≥ 1
     */
    public ShardPacker(int numFeatures, int numOutputs, int blockSize) {
        this(numFeatures, numOutputs, blockSize, Layout.COLUMNS);
    }

    /** A packer with the given layout. */
    public ShardPacker(int numFeatures, int numOutputs, int blockSize, Layout layout) {
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
        this.layout = layout;
    }

    /**
     * Names the columns the features and the label came from, so that a bad value is reported as
     * {@code feature 3 of column 'features'} or {@code column 'label'}; returns {@code this}.
     */
    public ShardPacker withColumnNames(String featuresColumn, String labelColumn) {
        this.featuresColumn = featuresColumn;
        this.labelColumn = labelColumn;
        return this;
    }

    private String feature(int i) {
        return featuresColumn == null ? "feature " + i : "feature " + i + " of column '" + featuresColumn + "'";
    }

    private String target(int i) {
        if (labelColumn != null) {
            return numOutputs == 1 ? "column '" + labelColumn + "'" : "target " + i + " of column '" + labelColumn + "'";
        }
        return numOutputs == 1 ? "the label" : "target " + i;
    }

    /**
     * Receives the blocks of {@link #forEachBlock}: {@code x}, {@code y} in the packer's layout and the
     * weights, {@code null} when every weight in the block is 1. The arrays may be modified; they are
     * reused for the next block.
     */
    @FunctionalInterface
    public interface BlockConsumer {
        void accept(DMatrixRMaj x, DMatrixRMaj y, double[] weights);
    }

    /**
     * Packs every example of {@code examples} (partition {@code partition}) into a shard that keeps all
     * its blocks, in {@link CanonicalOrder canonical order}: the shard depends on which examples the
     * partition holds, not on the order Spark delivers them in (which a shuffle does not fix). The
     * layout must be {@link Layout#COLUMNS}. Bad examples are reported by their position in the
     * partition as delivered.
     *
     * @throws IllegalArgumentException on the first example with a wrong feature count, a non-finite
     *                                  feature or target, a bad class index, or a negative or non-finite weight
     */
    public Shard pack(int partition, Iterator<Example> examples) {
        if (layout != Layout.COLUMNS) {
            throw new IllegalStateException("shards hold examples as columns");
        }
        List<Example> delivered = CanonicalOrder.drain(examples);
        int[] order = CanonicalOrder.of(delivered);
        List<DMatrixRMaj> xs = new ArrayList<>();
        List<DMatrixRMaj> ys = new ArrayList<>();
        List<double[]> ws = new ArrayList<>();
        boolean[] allUnit = {true};
        Iterator<Example> sorted = Arrays.stream(order).mapToObj(delivered::get).iterator();
        Totals totals = fill(partition, sorted, order, false, (x, y, w) -> {
            xs.add(x);
            ys.add(y);
            ws.add(w);
            allUnit[0] &= isAllOnes(w);
        });
        // once per partition and fit, and again whenever Spark rebuilds a lost cached shard from its lineage
        LOG.info("sparkprop: packed partition {}: {} examples in {} blocks of {}", partition, totals.count, xs.size(),
                blockSize);
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
        return fill(partition, examples, null, true, (x, y, w) -> consumer.accept(x, y, isAllOnes(w) ? null : w)).count;
    }

    /**
     * As {@link #forEachBlock}, but hands the blocks over with the partition's examples in
     * {@link CanonicalOrder canonical order}, so that sums formed block by block are the same bits
     * whatever order Spark delivers the rows in (a shuffle fixes which rows a partition holds, not
     * their order; a re-run task after an executor loss may receive them in another). The partition
     * is buffered once in this packer's layout — about its raw doubles plus 12 bytes an example — and
     * streamed from there through one reused block. Bad examples are reported by their delivered
     * position, as by {@link #pack}.
     *
     * @return the number of examples
     * @throws IllegalArgumentException as {@link #pack}
     */
    public long forEachBlockCanonical(int partition, Iterator<Example> examples, BlockConsumer consumer) {
        long[][] hashes = {new long[1024]};
        int[] seen = {0};
        Iterator<Example> hashing = new Iterator<>() {
            @Override
            public boolean hasNext() {
                return examples.hasNext();
            }

            @Override
            public Example next() {
                Example e = examples.next();
                if (seen[0] == hashes[0].length) {
                    hashes[0] = Arrays.copyOf(hashes[0], 2 * seen[0]);
                }
                hashes[0][seen[0]++] = CanonicalOrder.hash(e);
                return e;
            }
        };
        List<DMatrixRMaj> xs = new ArrayList<>();
        List<DMatrixRMaj> ys = new ArrayList<>();
        List<double[]> ws = new ArrayList<>();
        Totals totals = fill(partition, hashing, null, false, (x, y, w) -> {
            xs.add(x);
            ys.add(y);
            ws.add(w);
        });
        int count = (int) totals.count;
        if (count == 0) {
            return 0;
        }
        long[] h = hashes[0];
        Integer[] boxed = new Integer[count];
        for (int i = 0; i < count; i++) {
            boxed[i] = i;
        }
        Arrays.sort(boxed, (a, b) -> {
            int c = Long.compare(h[a], h[b]);
            return c != 0 ? c : compareBuffered(xs, ys, ws, a, b);
        });
        DMatrixRMaj x = block(numFeatures, blockSize);
        DMatrixRMaj y = block(numOutputs, blockSize);
        double[] w = new double[blockSize];
        int col = 0;
        for (int k = 0; k < count; k++) {
            int source = boxed[k];
            copyExample(xs.get(source / blockSize), source % blockSize, x, col, numFeatures);
            copyExample(ys.get(source / blockSize), source % blockSize, y, col, numOutputs);
            w[col] = ws.get(source / blockSize)[source % blockSize];
            if (++col == blockSize || k == count - 1) {
                DMatrixRMaj bx = col == blockSize ? x : firstExamples(x, col);
                DMatrixRMaj by = col == blockSize ? y : firstExamples(y, col);
                double[] bw = col == blockSize ? w : Arrays.copyOf(w, col);
                consumer.accept(bx, by, isAllOnes(bw) ? null : bw);
                col = 0;
            }
        }
        return count;
    }

    /** Copies example {@code from} of block {@code src} into position {@code to} of {@code dst} ({@code size} values). */
    private void copyExample(DMatrixRMaj src, int from, DMatrixRMaj dst, int to, int size) {
        if (layout == Layout.ROWS) {
            System.arraycopy(src.data, from * size, dst.data, to * size, size);
        } else {
            int srcCols = src.numCols;
            for (int i = 0; i < size; i++) {
                dst.data[i * blockSize + to] = src.data[i * srcCols + from];
            }
        }
    }

    /** Orders two buffered examples of equal hash by their values: features, then target, then weight. */
    private int compareBuffered(List<DMatrixRMaj> xs, List<DMatrixRMaj> ys, List<double[]> ws, int a, int b) {
        int c = compareValues(xs, a, b, numFeatures);
        if (c == 0) {
            c = compareValues(ys, a, b, numOutputs);
        }
        return c != 0 ? c : Double.compare(ws.get(a / blockSize)[a % blockSize], ws.get(b / blockSize)[b % blockSize]);
    }

    private int compareValues(List<DMatrixRMaj> blocks, int a, int b, int size) {
        DMatrixRMaj ba = blocks.get(a / blockSize);
        DMatrixRMaj bb = blocks.get(b / blockSize);
        for (int i = 0; i < size; i++) {
            int c = Double.compare(valueOf(ba, a % blockSize, i, size), valueOf(bb, b % blockSize, i, size));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /** Value {@code i} of example {@code j} of a block (which may be a short, exactly sized last block). */
    private double valueOf(DMatrixRMaj block, int j, int i, int size) {
        return layout == Layout.ROWS ? block.data[j * size + i] : block.data[i * block.numCols + j];
    }

    private static final class Totals {
        long count;
        double weightSum;
    }

    /**
     * Fills blocks example by example. With {@code reuse} the same buffers serve every block (cleared
     * after the consumer, so sparse rows and one-hot targets start from zeros); without, every block
     * is new. The last, short block is handed over exactly sized. {@code deliveredRow[k]}, when given,
     * is the position the {@code k}-th example had as delivered, for messages.
     */
    private Totals fill(int partition, Iterator<Example> examples, int[] deliveredRow, boolean reuse,
                        BlockConsumer consumer) {
        Totals totals = new Totals();
        DMatrixRMaj x = null;
        DMatrixRMaj y = null;
        double[] w = null;
        int col = 0;
        while (examples.hasNext()) {
            Example e = examples.next();
            if (x == null) {
                x = block(numFeatures, blockSize);
                y = block(numOutputs, blockSize);
                w = new double[blockSize];
            }
            long row = deliveredRow == null ? totals.count : deliveredRow[(int) totals.count];
            putFeatures(e.features(), x.data, col, partition, row);
            putTarget(e.target(), y.data, col, partition, row);
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
            consumer.accept(firstExamples(x, col), firstExamples(y, col), Arrays.copyOf(w, col));
        }
        return totals;
    }

    /** An empty block of {@code examples} examples of {@code size} values, in this packer's layout. */
    private DMatrixRMaj block(int size, int examples) {
        return layout == Layout.COLUMNS ? new DMatrixRMaj(size, examples) : new DMatrixRMaj(examples, size);
    }

    /** Offset of value {@code i} of example {@code j} in a block whose examples have {@code size} values. */
    private int offset(int i, int j, int size) {
        return layout == Layout.COLUMNS ? i * blockSize + j : j * size + i;
    }

    private static boolean isAllOnes(double[] w) {
        for (double v : w) {
            if (v != 1.0) {
                return false;
            }
        }
        return true;
    }

    private void putFeatures(Vector v, double[] d, int col, int partition, long row) {
        if (v.size() != numFeatures) {
            throw new IllegalArgumentException("expected " + numFeatures + " features, found " + v.size()
                    + " in " + where(partition, row));
        }
        if (v instanceof DenseVector) {
            double[] values = ((DenseVector) v).values();
            for (int i = 0; i < numFeatures; i++) {
                if (!Double.isFinite(values[i])) {
                    throw nonFinite(feature(i), values[i], partition, row);
                }
            }
            if (layout == Layout.ROWS) {
                System.arraycopy(values, 0, d, col * numFeatures, numFeatures);
            } else {
                for (int i = 0; i < numFeatures; i++) {
                    d[i * blockSize + col] = values[i];
                }
            }
        } else if (v instanceof SparseVector) {
            SparseVector s = (SparseVector) v;
            int[] indices = s.indices();
            double[] values = s.values();
            for (int k = 0; k < indices.length; k++) {
                double value = values[k];
                if (!Double.isFinite(value)) {
                    throw nonFinite(feature(indices[k]), value, partition, row);
                }
                // the block starts zeroed, so only the stored entries need writing
                d[offset(indices[k], col, numFeatures)] = value;
            }
        } else {
            for (int i = 0; i < numFeatures; i++) {
                double value = v.apply(i);
                if (!Double.isFinite(value)) {
                    throw nonFinite(feature(i), value, partition, row);
                }
                d[offset(i, col, numFeatures)] = value;
            }
        }
    }

    private void putTarget(double[] target, double[] d, int col, int partition, long row) {
        if (target.length == numOutputs) {
            for (int i = 0; i < numOutputs; i++) {
                if (!Double.isFinite(target[i])) {
                    throw nonFinite(target(i), target[i], partition, row);
                }
                d[offset(i, col, numOutputs)] = target[i];
            }
        } else if (target.length == 1) {
            double label = target[0];
            if (!(label >= 0 && label < numOutputs && label == Math.rint(label))) {
                throw new IllegalArgumentException("expected a class index in 0.." + (numOutputs - 1)
                        + ", found " + label + " in " + where(partition, row));
            }
            d[offset((int) label, col, numOutputs)] = 1.0;
        } else {
            throw new IllegalArgumentException("expected a target of " + numOutputs
                    + " values or one class index, found " + target.length + " values in " + where(partition, row));
        }
    }

    private static IllegalArgumentException nonFinite(String what, double value, int partition, long row) {
        return new IllegalArgumentException(what + " is " + value + " in " + where(partition, row) + "; "
                + NON_FINITE_ADVICE);
    }

    private static String where(int partition, long row) {
        return "row " + row + " of partition " + partition;
    }

    /** The first {@code count} examples of block {@code m} as an exactly sized block. */
    private DMatrixRMaj firstExamples(DMatrixRMaj m, int count) {
        if (layout == Layout.ROWS) {
            DMatrixRMaj out = new DMatrixRMaj(count, m.numCols);
            System.arraycopy(m.data, 0, out.data, 0, count * m.numCols);
            return out;
        }
        DMatrixRMaj out = new DMatrixRMaj(m.numRows, count);
        for (int i = 0; i < m.numRows; i++) {
            System.arraycopy(m.data, i * m.numCols, out.data, i * count, count);
        }
        return out;
    }
}
