package io.sparkprop.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import io.sparkprop.util.Checks;
import io.sparkprop.util.Internal;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.Matrix;
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
 *
 * <p>Sparse blocks. {@link #pack} stores a block's {@code X} as a {@link DMatrixSparseCSC} (one compressed
 * column per example) when the fraction of its {@code n·B} feature values that are non-zero is below the
 * {@link #withSparseThreshold sparse threshold}, whatever vector type the rows came in: the kernel's first
 * layer then costs {@code ∝} the non-zeros ({@link io.sparkprop.nn.kernel.BackpropKernel}). The decision is
 * per block, so one shard may hold both kinds. Such a block never exists densely, so a wide input
 * ({@code 2^18} features) packs in the memory of its non-zeros.
 */
@Internal
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
    /** The format {@link #pack} stores {@code X} and {@code Y} in. */
    private Precision precision = Precision.FLOAT64;
    /**
     * The default {@link #withSparseThreshold sparse threshold}: a block of fewer non-zeros than this
     * fraction of its values is stored sparse. Where the sparse first layer's time meets the GEMMs' on this
     * project's reference CPU (one block of 128 examples of 784 features, forward and backward, 784-256-128-10
     * and 784-32-10: sparse ÷ dense 0.97 and 1.05 at density 0.1, 0.70–0.75 at 0.05, 1.3–1.8 at 0.2; README,
     * "Sparse input"); there the sparse block takes 0.15 of the dense one's bytes.
     */
    public static final double DEFAULT_SPARSE_THRESHOLD = 0.1;
    private double sparseThreshold = DEFAULT_SPARSE_THRESHOLD;
    /** Classes whose examples {@link #pack} counts ({@link io.sparkprop.nn.kernel.TrainingTerms#classOf}); 0: none. */
    private int classes;

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

    /**
     * The format {@link #pack} stores {@code X} and {@code Y} in (default float64); returns {@code this}.
     * With float32 a column that rounding to float would flatten is refused (see {@code Float32Columns}).
     */
    public ShardPacker withPrecision(Precision value) {
        this.precision = value;
        return this;
    }

    /**
     * Blocks whose fraction of non-zero feature values is below {@code value} are stored sparse by
     * {@link #pack}; 0 stores every block dense (default {@link #DEFAULT_SPARSE_THRESHOLD}); returns {@code this}.
     *
     * @throws IllegalArgumentException unless {@code 0 ≤ value ≤ 1}
     */
    public ShardPacker withSparseThreshold(double value) {
        this.sparseThreshold = Checks.closedUnitInterval("sparseThreshold", value);
        return this;
    }

    /**
     * Counts the examples of each of {@code value} classes while packing ({@link Shard#classCounts}); 0 counts
     * none (default); returns {@code this}.
     */
    public ShardPacker withClassCounts(int value) {
        this.classes = value;
        return this;
    }

    /**
     * The one rule of what is sparse, for packing, scoring and the ridge statistics alike: {@code examples}
     * rows of {@code features} values holding {@code nonZeros} non-zeros are handled sparse when the non-zeros
     * are fewer than {@code threshold} of the values.
     */
    public static boolean isSparse(long nonZeros, long examples, int features, double threshold) {
        return nonZeros < threshold * features * (double) examples;
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
     * its blocks in memory, in {@link CanonicalOrder canonical order}: as {@link #pack(int, Iterator, Storage)}
     * without storage, for a partition known to fit.
     */
    public Shard pack(int partition, Iterator<Example> examples) {
        return pack(partition, examples, null);
    }

    /**
     * Where {@link #pack} puts the blocks that do not fit the memory budget: {@link DiskBlocks} under the RDD id
     * {@code rddId} reserved for the packed data of {@code partitions} partitions, and {@link StorageBudget} for
     * the budget.
     */
    public record Storage(int rddId, int partitions) implements java.io.Serializable {
    }

    /**
     * Packs every example of {@code examples} (partition {@code partition}) into a shard, in {@link CanonicalOrder
     * canonical order}: the shard depends on which examples the partition holds, not on the order Spark
     * delivers them in (which a shuffle does not fix). Memory stays bounded whatever the partition's size: the
     * examples are ordered by an external merge sort ({@link CanonicalSort}) and streamed into blocks, which stay
     * in memory while the executor's {@link StorageBudget} has room and go to disk ({@link DiskBlocks}) after
     * that; with {@code storage} {@code null} every block stays in memory. The layout must be
     * {@link Layout#COLUMNS}. Bad examples are reported by their position in the partition as delivered.
     *
     * @throws IllegalArgumentException on the first example with a wrong feature count, a non-finite
     *                                  feature or target, a bad class index, or a negative or non-finite weight;
     *                                  in float32, on a column float32 cannot hold
     */
    public Shard pack(int partition, Iterator<Example> examples, Storage storage) {
        if (layout != Layout.COLUMNS) {
            throw new IllegalStateException("shards hold examples as columns");
        }
        long started = System.nanoTime();
        ShardBuilder builder = new ShardBuilder(partition, storage);
        try {
            Totals totals = canonicalBlocks(partition, examples, builder::add);
            Shard shard = builder.finish(totals);
            // once per partition and fit, and again whenever Spark rebuilds a lost cached shard from its lineage
            double seconds = (System.nanoTime() - started) / 1e9;
            LOG.info("sparkprop: packed partition {}: {} examples in {} blocks of {} ({}{}) in {} s, {} rows/s; "
                            + "{} in memory, {} on disk{}", partition, totals.count, shard.numBlocks(), blockSize,
                    precision.lowerName(), shard.sparseBlocks() == 0 ? "" : ", " + shard.sparseBlocks() + " sparse",
                    String.format(java.util.Locale.ROOT, "%.1f", seconds),
                    String.format(java.util.Locale.ROOT, "%.0f", totals.count / Math.max(seconds, 1e-9)),
                    io.sparkprop.util.Names.bytes(shard.memoryBytes()), io.sparkprop.util.Names.bytes(shard.diskBytes()),
                    totals.runs == 0 ? "" : " (ordered through " + totals.runs + " sorted runs, "
                            + io.sparkprop.util.Names.bytes(totals.spilled) + ")");
            return shard;
        } finally {
            builder.release();
        }
    }

    /**
     * Collects {@link #pack}'s blocks: narrows dense ones to float when the precision is float32, counts them
     * and their classes, and keeps each in memory while the storage budget allows, else writes it to disk.
     */
    private final class ShardBuilder {
        private final int partition;
        private final boolean narrow = precision == Precision.FLOAT32;
        private final Float32Columns xf;
        private final Float32Columns yf;
        private final List<Matrix> xs = new ArrayList<>();
        private final List<Matrix> ys = new ArrayList<>();
        private final List<double[]> ws = new ArrayList<>();
        private final DiskBlocks.Writer disk;
        private final StorageBudget.Claims claims;
        private final long[] classCounts;
        private boolean allUnit = true;
        private long payload;
        private long memory;
        private long featureValues;
        private long columns;
        private long memoryColumns;
        private int sparse;

        ShardBuilder(int partition, Storage storage) {
            this.partition = partition;
            // float32: each block is packed in double, as every other path does, and rounded once it is full (a
            // sparse block's non-zeros to float: 8 bytes a non-zero instead of 12)
            this.xf = narrow ? new Float32Columns(numFeatures, ShardPacker.this::feature) : null;
            this.yf = narrow ? new Float32Columns(numOutputs, ShardPacker.this::target) : null;
            this.disk = storage == null ? null : new DiskBlocks.Writer(storage.rddId(), storage.partitions(),
                    partition);
            this.claims = storage == null ? null : StorageBudget.claims(storage.rddId());
            this.classCounts = classes == 0 ? null : new long[classes];
        }

        void add(Matrix x, DMatrixRMaj y, double[] w) {
            Matrix bx = !narrow ? x : x instanceof DMatrixRMaj ? xf.narrow((DMatrixRMaj) x, partition)
                    : xf.narrow((DMatrixSparseCSC) x, partition);
            Matrix by = narrow ? yf.narrow(y, partition) : y;
            for (int j = 0; classCounts != null && j < by.getNumCols(); j++) {
                classCounts[io.sparkprop.nn.kernel.TrainingTerms.classOf(by, j)]++;
            }
            boolean unit = isAllOnes(w);
            allUnit &= unit;
            long bytes = Shard.payloadBytes(bx, by, null, precision);
            payload += bytes;
            featureValues += Shard.featureValues(bx);
            columns += w.length;
            if (Shard.isSparse(bx)) {
                sparse++;
            }
            int k = xs.size();
            // the budget counts a block's values and its weights (8 bytes each), which a shard in memory keeps
            if (disk == null || claims.claim(bytes + 8L * w.length)) {
                xs.add(bx);
                ys.add(by);
                ws.add(w);
                memory += bytes;
                memoryColumns += w.length;
                if (disk != null) {
                    disk.inMemory(k);
                }
            } else {
                xs.add(null);
                ys.add(null);
                ws.add(null);
                disk.write(k, bx, by, unit ? null : w);
            }
        }

        Shard finish(Totals totals) {
            if (narrow) {
                xf.check(partition);
                yf.check(partition);
            }
            DiskBlocks placed = disk == null ? null : disk.finish();
            // weights count, as values a shard keeps, only when some weight of the partition is not 1
            long weightBytes = allUnit ? 0 : 8 * columns;
            long memoryWeightBytes = allUnit ? 0 : 8 * memoryColumns;
            return new Shard(partition, precision, xs.size(), xs.toArray(new Matrix[0]), ys.toArray(new Matrix[0]),
                    allUnit ? null : ws.toArray(new double[0][]), placed == null || placed.bytes() == 0 ? null : placed,
                    totals.count, totals.weightSum, payload + weightBytes, memory + memoryWeightBytes, sparse,
                    featureValues, classCounts);
        }

        /** Gives back what the budget lent while packing: from now on Spark's cache accounts for the shard. */
        void release() {
            if (claims != null) {
                claims.release();
            }
        }
    }

    /**
     * Streams the examples of {@code examples}, in canonical order, into blocks handed to {@code keeper}: a
     * block whose fraction of non-zero feature values is below the sparse threshold as a {@link DMatrixSparseCSC},
     * the others dense, in float64. Memory: the sort's buffer and one block.
     */
    private Totals canonicalBlocks(int partition, Iterator<Example> examples, BlockKeeper keeper) {
        return inCanonicalBlocks(examples, (block, rows, totals) -> packBlock(partition, block, rows, totals, keeper));
    }

    /** Receives the examples of one block in canonical order, with their delivered positions. */
    @FunctionalInterface
    private interface CanonicalBlock {
        void accept(List<Example> block, long[] rows, Totals totals);
    }

    /**
     * Orders {@code examples} canonically ({@link CanonicalSort}, in bounded memory) and hands them to
     * {@code each} {@code blockSize} at a time (the last block may be shorter); returns the totals the blocks
     * added to, with the sort's runs.
     */
    private Totals inCanonicalBlocks(Iterator<Example> examples, CanonicalBlock each) {
        Totals totals = new Totals();
        try (CanonicalSort sort = new CanonicalSort(sortBufferBytes(), CanonicalSort.sparkLocalFiles())) {
            long delivered = 0;
            while (examples.hasNext()) {
                sort.add(examples.next(), delivered++);
            }
            Iterator<CanonicalSort.Entry> sorted = sort.sorted();
            List<Example> block = new ArrayList<>(blockSize);
            long[] rows = new long[blockSize];
            while (sorted.hasNext()) {
                CanonicalSort.Entry e = sorted.next();
                rows[block.size()] = e.row();
                block.add(e.example());
                if (block.size() == blockSize || !sorted.hasNext()) {
                    each.accept(block, rows, totals);
                    block.clear();
                }
            }
            totals.runs = sort.runs();
            totals.spilled = sort.spilledBytes();
        }
        return totals;
    }

    /**
     * Bytes of examples a partition's sort holds before it writes a run: 1/16 of the heap, at most 64 MB
     * (runs of 64 MB make a 100 GB partition a merge of 1,600 runs, 1 MB of buffer each).
     */
    static long sortBufferBytes() {
        return Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16);
    }

    /** One block of examples (with their delivered rows, for messages) to {@code keeper}, sparse or dense. */
    private void packBlock(int partition, List<Example> block, long[] rows, Totals totals, BlockKeeper keeper) {
        long nonZeros = 0;
        for (Example e : block) {
            nonZeros += e.features().numNonzeros();
        }
        if (isSparse(nonZeros, block.size(), numFeatures, sparseThreshold)) {
            sparseBlock(partition, block, rows, nonZeros, totals, keeper);
        } else {
            fill(partition, block.iterator(), rows, false, keeper::keep, totals);
        }
    }

    /**
     * Receives the blocks of {@link #forEachMatrixBlockCanonical}: {@code x}
     * dense ({@link DMatrixRMaj}) or sparse ({@link DMatrixSparseCSC}), examples as columns; the weights,
     * {@code null} when every weight in the block is 1.
     */
    @FunctionalInterface
    public interface MatrixBlockConsumer {
        void accept(Matrix x, DMatrixRMaj y, double[] weights);
    }

    /**
     * The blocks {@link #pack} would make (columns layout, canonical order, sparse below the threshold, in
     * float64), streamed to {@code consumer} rather than kept: for passes over data too wide to hold a dense
     * block of ({@code 2^18} features × {@code B} examples).
     *
     * @return the number of examples
     * @throws IllegalArgumentException as {@link #pack}
     */
    public long forEachMatrixBlockCanonical(int partition, Iterator<Example> examples, MatrixBlockConsumer consumer) {
        if (layout != Layout.COLUMNS) {
            throw new IllegalStateException("sparse blocks hold examples as columns");
        }
        return canonicalBlocks(partition, examples, (x, y, w) -> consumer.accept(x, y, isAllOnes(w) ? null : w)).count;
    }

    /**
     * The examples of {@code examples} (partition {@code partition}) as {@link SparseRows}: checked as
     * {@link #pack} checks them (bad rows named by their delivered position), in {@link CanonicalOrder
     * canonical order}, zeros dropped. Memory is that of the non-zeros, whatever the feature count.
     *
     * @throws IllegalArgumentException as {@link #pack}
     */
    public SparseRows sparseRows(int partition, Iterator<Example> examples) {
        List<Example> delivered = CanonicalOrder.drain(examples);
        int[] order = CanonicalOrder.of(delivered);
        int count = order.length;
        long nonZeros = 0;
        for (Example e : delivered) {
            nonZeros += e.features().numNonzeros();
        }
        // the rows go into one CSC matrix whose columns are the examples: the compressed rows of the result
        DMatrixSparseCSC x = new DMatrixSparseCSC(numFeatures, count, partitionNonZeros(partition, nonZeros));
        double[] targets = new double[Math.multiplyExact(count, numOutputs)];
        double[] weights = new double[count];
        int nz = 0;
        for (int i = 0; i < count; i++) {
            Example e = delivered.get(order[i]);
            long row = order[i];
            x.col_idx[i] = nz;
            nz = putSparse(e.features(), x, nz, partition, row);
            putTargetAt(e.target(), targets, i * numOutputs, 1, partition, row);
            weights[i] = checkedWeight(e.weight(), partition, row);
        }
        x.col_idx[count] = nz;
        return new SparseRows(numFeatures, numOutputs, x.col_idx, x.nz_rows, x.nz_values, targets, weights);
    }

    /**
     * Streams the blocks of {@code examples} to {@code consumer} without keeping them: one set of
     * block buffers is reused, so memory stays at one block whatever the partition's size.
     *
     * @return the number of examples
     * @throws IllegalArgumentException as {@link #pack}
     */
    public long forEachBlock(int partition, Iterator<Example> examples, BlockConsumer consumer) {
        return fill(partition, examples, null, true, (x, y, w) -> consumer.accept(x, y, isAllOnes(w) ? null : w),
                new Totals()).count;
    }

    /**
     * As {@link #forEachBlock}, but hands the blocks over with the partition's examples in a canonical
     * order (by their contents alone: {@link #pack}'s in the columns layout, by a cheaper hash of the
     * packed rows in the rows layout), so that sums formed block by block are the same bits whatever
     * order Spark delivers the rows in (a shuffle fixes which rows a partition holds, not their order; a
     * re-run task after an executor loss may receive them in another). In the columns layout the examples
     * are ordered in bounded memory ({@link CanonicalSort}) and streamed a block at a time; in the rows layout
     * the partition's rows are held while they are ordered (about its raw doubles) and then streamed through
     * one reused set of block buffers. Bad examples are reported by their delivered position, as by {@link #pack}.
     *
     * @return the number of examples
     * @throws IllegalArgumentException as {@link #pack}
     */
    public long forEachBlockCanonical(int partition, Iterator<Example> examples, BlockConsumer consumer) {
        if (layout == Layout.COLUMNS) {
            // dense blocks (forEachBlock's consumers take DMatrixRMaj), each new: the arrays are the consumer's
            return inCanonicalBlocks(examples, (block, rows, totals) -> fill(partition, block.iterator(), rows, false,
                    (x, y, w) -> consumer.accept(x, y, isAllOnes(w) ? null : w), totals)).count;
        }
        // rows: checked and packed block by block as delivered, copied into a row buffer of large chunks
        // (about 4 MB each, so the collector does not copy them about while the partition is read), hashed
        // there, ordered, and gathered back into one reused block
        RowBuffer buffer = new RowBuffer(numFeatures, numOutputs);
        fill(partition, examples, null, true, (x, y, w) -> buffer.append(x, y, w), new Totals());
        return emitRows(buffer, consumer);
    }

    /**
     * {@code nonZeros}, the non-zeros of one partition's sparse rows, as the length of the arrays that hold them.
     *
     * @throws IllegalArgumentException when one array cannot hold them
     */
    private static int partitionNonZeros(int partition, long nonZeros) {
        if (nonZeros > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("partition " + partition + " holds " + nonZeros
                    + " non-zeros, more than one array can; use more partitions");
        }
        return (int) nonZeros;
    }

    /**
     * A partition's rows in canonical order (as {@link #forEachBlockCanonical} in the rows layout orders them), as
     * dense row blocks to {@code dense} when at least {@code threshold} of its feature values are non-zero
     * ({@link #isSparse}), else as one {@link SparseRows} to {@code sparse} (what {@link #sparseRows} makes). A
     * partition of dense vectors is read straight into the row buffer, non-zeros counted as the rows pass, so that
     * no example is held: a partition of dense rows held as examples while its density is unknown keeps the
     * collector copying them (about its raw doubles again) at every young collection. One with sparse vectors is
     * held as examples until its density is known (a wide sparse row is not made dense before then): from its
     * first row when that is sparse, else from its first sparse row on, the dense rows before it taken back out of
     * the buffer.
     *
     * @return the number of examples
     * @throws IllegalArgumentException as {@link #pack}
     */
    public long forEachRowsCanonical(int partition, Iterator<Example> examples, double threshold,
                                     BlockConsumer dense, java.util.function.Consumer<SparseRows> sparse) {
        if (layout != Layout.ROWS) {
            throw new IllegalStateException("rows in canonical order are for the rows layout");
        }
        if (!examples.hasNext()) {
            return 0;
        }
        Example first = examples.next();
        if (first.features() instanceof SparseVector) {
            List<Example> rows = new ArrayList<>();
            rows.add(first);
            examples.forEachRemaining(rows::add);
            return heldRows(partition, rows, threshold, dense, sparse);
        }
        // dense rows go into the buffer until the partition ends or a sparse row comes (a sparse row of a wide
        // partition must not be made dense before the partition's density is known)
        long[] nonZeros = {0};
        Example[] sparseRow = {null};
        Iterator<Example> denseRows = new Iterator<>() {
            private Example next = first;

            @Override
            public boolean hasNext() {
                if (next == null && sparseRow[0] == null && examples.hasNext()) {
                    next = examples.next();
                    if (next.features() instanceof SparseVector) {
                        sparseRow[0] = next;
                        next = null;
                    }
                }
                return next != null;
            }

            @Override
            public Example next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                Example e = next;
                next = null;
                nonZeros[0] += e.features().numNonzeros();
                return e;
            }
        };
        RowBuffer buffer = new RowBuffer(numFeatures, numOutputs);
        fill(partition, denseRows, null, true, (x, y, w) -> buffer.append(x, y, w), new Totals());
        if (sparseRow[0] != null) {
            // a mixed partition: the rows so far back as examples, in delivered order, then held with the rest
            List<Example> rows = buffer.examples();
            rows.add(sparseRow[0]);
            examples.forEachRemaining(rows::add);
            return heldRows(partition, rows, threshold, dense, sparse);
        }
        if (isSparse(nonZeros[0], buffer.count, numFeatures, threshold)) {
            SparseRows r = buffer.sparseRows(nonZeros[0], partition);
            sparse.accept(r);
            return r.count();
        }
        return emitRows(buffer, dense);
    }

    /** A partition held as examples, read as {@link #forEachRowsCanonical} reads it. */
    private long heldRows(int partition, List<Example> rows, double threshold, BlockConsumer dense,
                          java.util.function.Consumer<SparseRows> sparse) {
        long nonZeros = 0;
        for (Example e : rows) {
            nonZeros += e.features().numNonzeros();
        }
        if (isSparse(nonZeros, rows.size(), numFeatures, threshold)) {
            SparseRows r = sparseRows(partition, rows.iterator());
            sparse.accept(r);
            return r.count();
        }
        return forEachBlockCanonical(partition, releasing(rows), dense);
    }

    /** The items of {@code list} in order, each set to {@code null} in the list as it is handed out. */
    private static <T> Iterator<T> releasing(List<T> list) {
        return new Iterator<T>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < list.size();
            }

            @Override
            public T next() {
                if (next >= list.size()) {
                    throw new java.util.NoSuchElementException();
                }
                T item = list.get(next);
                list.set(next++, null);
                return item;
            }
        };
    }

    /** The buffer's rows in canonical order, gathered a block at a time into one reused set of buffers. */
    private long emitRows(RowBuffer buffer, BlockConsumer consumer) {
        int count = buffer.count;
        if (count == 0) {
            return 0;
        }
        int[] order = buffer.canonicalOrder();
        DMatrixRMaj x = block(numFeatures, blockSize);
        DMatrixRMaj y = block(numOutputs, blockSize);
        double[] w = new double[blockSize];
        int col = 0;
        for (int k = 0; k < count; k++) {
            buffer.copyRow(order[k], x.data, y.data, w, col);
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

    /** A partition's rows (features, targets, weights) in chunks of a few MB, for {@link #forEachBlockCanonical}. */
    private static final class RowBuffer {
        private final int n;
        private final int m;
        private final int chunkRows;
        private final List<double[]> xs = new ArrayList<>();
        private final List<double[]> ys = new ArrayList<>();
        private final List<double[]> ws = new ArrayList<>();
        private long[] hashes = new long[1024];
        int count;

        RowBuffer(int n, int m) {
            this.n = n;
            this.m = m;
            // just under 4 MB a chunk: one region of G1's humongous space at the region sizes of
            // multi-GB heaps, rather than 4 MB and a few bytes spilling into a second region
            this.chunkRows = Math.max(1, ((4 << 20) - 4096) / (8 * n));
        }

        /** Appends the rows of a block ({@code x} B×n, {@code y} B×m, {@code w} of length ≥ B). */
        void append(DMatrixRMaj x, DMatrixRMaj y, double[] w) {
            for (int j = 0; j < x.numRows; j++) {
                int c = count / chunkRows;
                int r = count % chunkRows;
                if (r == 0) {
                    xs.add(new double[chunkRows * n]);
                    ys.add(new double[chunkRows * m]);
                    ws.add(new double[chunkRows]);
                }
                System.arraycopy(x.data, j * n, xs.get(c), r * n, n);
                System.arraycopy(y.data, j * m, ys.get(c), r * m, m);
                ws.get(c)[r] = w[j];
                if (count == hashes.length) {
                    hashes = Arrays.copyOf(hashes, 2 * count);
                }
                hashes[count] = CanonicalOrder.hashRow(xs.get(c), r * n, n, ys.get(c), r * m, m, w[j]);
                count++;
            }
        }

        void copyRow(int i, double[] x, double[] y, double[] w, int to) {
            int c = i / chunkRows;
            int r = i % chunkRows;
            System.arraycopy(xs.get(c), r * n, x, to * n, n);
            System.arraycopy(ys.get(c), r * m, y, to * m, m);
            w[to] = ws.get(c)[r];
        }

        /** The rows as examples (dense features), in the order they were appended. */
        List<Example> examples() {
            List<Example> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int c = i / chunkRows;
                int r = i % chunkRows;
                out.add(Example.weighted(ws.get(c)[r],
                        org.apache.spark.ml.linalg.Vectors.dense(Arrays.copyOfRange(xs.get(c), r * n, r * n + n)),
                        Arrays.copyOfRange(ys.get(c), r * m, r * m + m)));
            }
            return out;
        }

        /**
         * The rows as {@link SparseRows} in the examples' canonical order (features without their zeros, of either
         * sign, as {@link BlockWriter#appendNonZeros} drops them): what {@link #sparseRows} makes of the same
         * examples, bit for bit.
         */
        SparseRows sparseRows(long nonZeros, int partition) {
            int length = partitionNonZeros(partition, nonZeros);
            // the order sparseRows gives the examples ({@link CanonicalOrder#of}): their hash, ties by value
            long[] exampleHashes = new long[count];
            for (int i = 0; i < count; i++) {
                int c = i / chunkRows;
                int r = i % chunkRows;
                exampleHashes[i] = CanonicalOrder.hashDense(xs.get(c), r * n, n, ys.get(c), r * m, m, ws.get(c)[r]);
            }
            int[] order = CanonicalOrder.sortByHash(exampleHashes, count, this::compareRows);
            int[] rowStart = new int[count + 1];
            int[] indices = new int[length];
            double[] values = new double[length];
            double[] targets = new double[Math.multiplyExact(count, m)];
            double[] weights = new double[count];
            int nz = 0;
            for (int i = 0; i < count; i++) {
                int c = order[i] / chunkRows;
                int r = order[i] % chunkRows;
                double[] x = xs.get(c);
                rowStart[i] = nz;
                for (int j = 0; j < n; j++) {
                    double v = x[r * n + j];
                    if (v != 0.0) {
                        indices[nz] = j;
                        values[nz++] = v;
                    }
                }
                System.arraycopy(ys.get(c), r * m, targets, i * m, m);
                weights[i] = ws.get(c)[r];
            }
            rowStart[count] = nz;
            return new SparseRows(n, m, rowStart, indices, values, targets, weights);
        }

        /** Positions by hash, sorted as primitives; runs of equal hash bits ordered by value. */
        int[] canonicalOrder() {
            return CanonicalOrder.sortByHash(hashes, count, this::compareRows);
        }

        private int compareRows(int a, int b) {
            int ca = a / chunkRows;
            int ra = a % chunkRows;
            int cb = b / chunkRows;
            int rb = b % chunkRows;
            int c = Arrays.compare(xs.get(ca), ra * n, ra * n + n, xs.get(cb), rb * n, rb * n + n);
            if (c == 0) {
                c = Arrays.compare(ys.get(ca), ra * m, ra * m + m, ys.get(cb), rb * m, rb * m + m);
            }
            return c != 0 ? c : Double.compare(ws.get(ca)[ra], ws.get(cb)[rb]);
        }
    }

    private static final class Totals {
        long count;
        double weightSum;
        /** Sorted runs the canonical order wrote to disk, and their bytes. */
        int runs;
        long spilled;
    }

    /**
     * Fills blocks example by example. With {@code reuse} the same buffers serve every block (cleared
     * after the consumer, so sparse rows and one-hot targets start from zeros); without, every block
     * is new. The last, short block is handed over exactly sized. {@code deliveredRow[i]}, when given,
     * is the position the {@code i}-th example of this call had as delivered, for messages (without, its
     * position is the count before it). Counts and weights are added into {@code totals} (returned).
     */
    private Totals fill(int partition, Iterator<Example> examples, long[] deliveredRow, boolean reuse,
                        BlockConsumer consumer, Totals totals) {
        DMatrixRMaj x = null;
        DMatrixRMaj y = null;
        double[] w = null;
        int col = 0;
        int i = 0;
        while (examples.hasNext()) {
            Example e = examples.next();
            if (x == null) {
                x = block(numFeatures, blockSize);
                y = block(numOutputs, blockSize);
                w = new double[blockSize];
            }
            long row = deliveredRow == null ? totals.count : deliveredRow[i];
            i++;
            putFeatures(e.features(), x.data, col, partition, row);
            putTarget(e.target(), y.data, col, partition, row);
            double weight = checkedWeight(e.weight(), partition, row);
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

    /** Receives {@link #pack}'s blocks: {@code X} dense or sparse, {@code Y}, the weights. */
    @FunctionalInterface
    private interface BlockKeeper {
        void keep(Matrix x, DMatrixRMaj y, double[] w);
    }

    /**
     * Packs the examples of {@code block} (delivered at {@code rows}) into one block whose {@code X} is a
     * {@link DMatrixSparseCSC} of exactly {@code nonZeros} entries (zeros dropped, feature indices ascending
     * in each column), with the same checks, targets, weights and totals as a dense block, and hands it to
     * {@code keeper}.
     */
    private void sparseBlock(int partition, List<Example> block, long[] rows, long nonZeros, Totals totals,
                             BlockKeeper keeper) {
        int b = block.size();
        if (nonZeros > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a block of " + b + " examples holds " + nonZeros
                    + " non-zeros, more than one array can; use a smaller blockSize");
        }
        DMatrixSparseCSC x = new DMatrixSparseCSC(numFeatures, b, (int) nonZeros);
        DMatrixRMaj y = new DMatrixRMaj(numOutputs, blockSize);
        double[] w = new double[b];
        int nz = 0;
        for (int col = 0; col < b; col++) {
            Example e = block.get(col);
            long row = rows[col];
            x.col_idx[col] = nz;
            nz = putSparse(e.features(), x, nz, partition, row);
            putTarget(e.target(), y.data, col, partition, row);
            double weight = checkedWeight(e.weight(), partition, row);
            totals.weightSum += weight;
            totals.count++;
            w[col] = weight;
        }
        x.col_idx[b] = nz;
        x.nz_length = nz;
        x.indicesSorted = true;
        keeper.keep(x, b == blockSize ? y : firstExamples(y, b), w);
    }

    /**
     * Appends the non-zeros of {@code v} (checked: size, finite values, indices in range and strictly
     * increasing) to {@code x}'s arrays from entry {@code nz}; returns the next free entry.
     */
    private int putSparse(Vector v, DMatrixSparseCSC x, int nz, int partition, long row) {
        checkValues(v, partition, row);
        return BlockWriter.appendNonZeros(v, x, nz);
    }

    /**
     * {@code v}'s size, its values finite, and a sparse vector's indices within {@code 0..n−1} and strictly
     * increasing.
     */
    private void checkValues(Vector v, int partition, long row) {
        checkSize(v, partition, row);
        if (v instanceof SparseVector) {
            SparseVector s = (SparseVector) v;
            checkIndices(s.indices(), s.values(), partition, row);
            return;
        }
        double[] values = v instanceof DenseVector ? ((DenseVector) v).values() : null;
        for (int i = 0; i < numFeatures; i++) {
            double value = values != null ? values[i] : v.apply(i);
            if (!Double.isFinite(value)) {
                throw nonFinite(feature(i), value, partition, row);
            }
        }
    }

    private void checkSize(Vector v, int partition, long row) {
        if (v.size() != numFeatures) {
            throw new IllegalArgumentException("expected " + numFeatures + " features, found " + v.size()
                    + " in " + where(partition, row));
        }
    }

    /**
     * A sparse vector's indices within {@code 0..n−1} and strictly increasing (a vector made with its
     * constructor rather than {@code Vectors.sparse} is not checked by Spark), its values finite.
     */
    private void checkIndices(int[] indices, double[] values, int partition, long row) {
        if (indices.length != values.length) {
            throw new IllegalArgumentException("a sparse feature vector has " + indices.length + " indices and "
                    + values.length + " values in " + where(partition, row));
        }
        int previous = -1;
        for (int k = 0; k < indices.length; k++) {
            int index = indices[k];
            if (index < 0 || index >= numFeatures) {
                throw new IllegalArgumentException("feature index " + index + " is outside 0.." + (numFeatures - 1)
                        + " in " + where(partition, row));
            }
            if (index <= previous) {
                throw new IllegalArgumentException("feature indices must be strictly increasing, found " + index
                        + " after " + previous + " in " + where(partition, row));
            }
            previous = index;
            if (!Double.isFinite(values[k])) {
                throw nonFinite(feature(index), values[k], partition, row);
            }
        }
    }

    private static double checkedWeight(double weight, int partition, long row) {
        if (!(weight >= 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("expected a finite weight >= 0, found " + weight
                    + " in " + where(partition, row));
        }
        return weight;
    }

    /** An empty block of {@code examples} examples of {@code size} values, in this packer's layout. */
    private DMatrixRMaj block(int size, int examples) {
        return layout == Layout.COLUMNS ? new DMatrixRMaj(size, examples) : new DMatrixRMaj(examples, size);
    }

    private static boolean isAllOnes(double[] w) {
        for (double v : w) {
            if (v != 1.0) {
                return false;
            }
        }
        return true;
    }

    /** Example {@code col}'s features, checked, into the zeroed block {@code d} in this packer's layout. */
    private void putFeatures(Vector v, double[] d, int col, int partition, long row) {
        checkValues(v, partition, row);
        if (layout == Layout.ROWS) {
            BlockWriter.put(v, d, col * numFeatures, 1, true);
        } else {
            BlockWriter.put(v, d, col, blockSize, true);
        }
    }

    private void putTarget(double[] target, double[] d, int col, int partition, long row) {
        if (layout == Layout.COLUMNS) {
            putTargetAt(target, d, col, blockSize, partition, row);
        } else {
            putTargetAt(target, d, col * numOutputs, 1, partition, row);
        }
    }

    /** Writes target value {@code i} (or the one-hot of a class index) at {@code d[base + i·stride]}, checked. */
    private void putTargetAt(double[] target, double[] d, int base, int stride, int partition, long row) {
        if (target.length == numOutputs) {
            for (int i = 0; i < numOutputs; i++) {
                if (!Double.isFinite(target[i])) {
                    throw nonFinite(target(i), target[i], partition, row);
                }
                d[base + i * stride] = target[i];
            }
        } else if (target.length == 1) {
            double label = target[0];
            if (!(label >= 0 && label < numOutputs && label == Math.rint(label))) {
                throw new IllegalArgumentException("expected a class index in 0.." + (numOutputs - 1)
                        + ", found " + label + " in " + where(partition, row));
            }
            d[base + (int) label * stride] = 1.0;
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
