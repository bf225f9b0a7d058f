package io.sparkprop.exec;

import java.io.Serializable;
import java.util.Iterator;
import java.util.NoSuchElementException;

import io.sparkprop.util.Internal;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.Matrix;

/**
 * Batch scoring for the models' {@code transform}: every partition is read in blocks of
 * {@value #ROWS_PER_BLOCK} rows whose feature vectors become the rows of one block ({@code B×n}, each vector
 * one contiguous copy, written by the packer's {@link BlockWriter}; the first GEMM reads it transposed), so a
 * forward pass is one GEMM per layer and block — as in training — instead of one matrix-vector product per row
 * and layer (MLlib's column functions, and ours before). The block and the task's kernel are allocated
 * once per task and reused. The rows come out in their order with the models' output columns appended, the
 * same schema as Spark ML's column functions give.
 *
 * <p>A block whose fraction of non-zero features is below the sparse threshold is gathered as a
 * {@link DMatrixSparseCSC} instead ({@code n×B}, examples as columns) and scored by sums over its non-zeros:
 * a block of 256 rows of {@code 2^18} features would be 512 MB dense. The dense block is allocated only when
 * a block needs it.
 */
@Internal
public final class BlockScorer {
    /** Rows per block: past a few hundred columns the GEMMs' rate no longer grows, the block's bytes do. */
    public static final int ROWS_PER_BLOCK = 256;

    private BlockScorer() {
    }

    /**
     * A task's forward pass: the outputs ({@code m×B}) of a block into {@code out} (reshaped). The block is dense
     * with one example per row ({@link DMatrixRMaj}, {@code B×n}) or sparse with one per column
     * ({@link DMatrixSparseCSC}, {@code n×B}).
     */
    public interface BlockFunction {
        void apply(Matrix block, DMatrixRMaj out);
    }

    /** Makes a task's {@link BlockFunction} on the executor (its kernel and workspace), once per task. */
    public interface Factory extends Serializable {
        BlockFunction create();
    }

    /**
     * The appended columns' values of example {@code j} of a block: {@code out} holds the block's outputs
     * row-major ({@code m × b}); the values go to {@code row[at…]}.
     */
    public interface Columns extends Serializable {
        void put(double[] out, int m, int b, int j, Object[] row, int at);
    }

    /**
     * {@code dataset} with {@code added} columns appended as {@code outSchema} describes, computed block by block.
     *
     * @param numFeatures     the model's input size; a row with another count fails its task naming both
     * @param sparseThreshold blocks with a smaller fraction of non-zero features are scored sparse
     */
    public static Dataset<Row> transform(Dataset<?> dataset, String featuresCol, int numFeatures,
                                         double sparseThreshold, StructType outSchema, int added, Factory factory,
                                         Columns columns) {
        Dataset<Row> rows = dataset.toDF();
        int featuresIndex = rows.schema().fieldIndex(featuresCol);
        int width = rows.schema().size();
        MapPartitionsFunction<Row, Row> score = it -> new Blocks(it, featuresCol, featuresIndex, numFeatures,
                sparseThreshold, width, added, factory.create(), columns);
        return rows.mapPartitions(score, Encoders.row(outSchema));
    }

    /** The output rows of one partition, computed a block at a time as they are asked for. */
    private static final class Blocks implements Iterator<Row> {
        private final Iterator<Row> in;
        private final String featuresCol;
        private final int featuresIndex;
        private final int n;
        private final double sparseThreshold;
        private final int width;
        private final int added;
        private final BlockFunction forward;
        private final Columns columns;
        private final Row[] rows = new Row[ROWS_PER_BLOCK];
        /** The dense block, made when a block first needs it. */
        private DMatrixRMaj x;
        private final DMatrixSparseCSC sparse = new DMatrixSparseCSC(0, 0, 0);
        private final DMatrixRMaj out = new DMatrixRMaj(1, 1);
        private int size;
        private int next;

        Blocks(Iterator<Row> in, String featuresCol, int featuresIndex, int n, double sparseThreshold, int width,
               int added, BlockFunction forward, Columns columns) {
            this.in = in;
            this.featuresCol = featuresCol;
            this.featuresIndex = featuresIndex;
            this.n = n;
            this.sparseThreshold = sparseThreshold;
            this.width = width;
            this.added = added;
            this.forward = forward;
            this.columns = columns;
        }

        @Override
        public boolean hasNext() {
            if (next == size) {
                fill();
            }
            return next < size;
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Row r = rows[next];
            Object[] values = new Object[width + added];
            for (int i = 0; i < width; i++) {
                values[i] = r.get(i);
            }
            columns.put(out.data, out.numRows, size, next, values, width);
            rows[next++] = null;
            return RowFactory.create(values);
        }

        /** Reads the next block: its feature vectors into the rows of the block, then the forward pass. */
        private void fill() {
            size = 0;
            next = 0;
            while (size < ROWS_PER_BLOCK && in.hasNext()) {
                rows[size++] = in.next();
            }
            if (size == 0) {
                return;
            }
            long nonZeros = 0;
            for (int j = 0; j < size; j++) {
                Vector v = (Vector) rows[j].get(featuresIndex);
                if (v == null) {
                    throw new IllegalArgumentException("the features column '" + featuresCol + "' is null in a row");
                }
                if (v.size() != n) {
                    throw new IllegalArgumentException("expected " + n + " features, found " + v.size()
                            + "; the model was trained on " + n);
                }
                nonZeros += v.numNonzeros();
            }
            if (ShardPacker.isSparse(nonZeros, size, n, sparseThreshold)) {
                gatherSparse((int) nonZeros);
                forward.apply(sparse, out);
                return;
            }
            // a short last block gets an exactly sized block (its rows are the GEMMs' n)
            if (x == null) {
                x = new DMatrixRMaj(ROWS_PER_BLOCK, n);
            }
            x.reshape(size, n);
            for (int j = 0; j < size; j++) {
                // example j is row j of the block, each slot written (the block is reused)
                BlockWriter.put((Vector) rows[j].get(featuresIndex), x.data, j * n, 1, false);
            }
            forward.apply(x, out);
        }

        /** The block's non-zeros, {@code nonZeros} of them, into the sparse block: example {@code j} is column {@code j}. */
        private void gatherSparse(int nonZeros) {
            sparse.reshape(n, size, nonZeros);
            int nz = 0;
            for (int j = 0; j < size; j++) {
                sparse.col_idx[j] = nz;
                nz = BlockWriter.appendNonZeros((Vector) rows[j].get(featuresIndex), sparse, nz);
            }
            sparse.col_idx[size] = nz;
            sparse.nz_length = nz;
        }
    }
}
