package io.sparkprop.exec;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.IntFunction;

import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.FMatrixSparseCSC;

/**
 * Rounds a partition's blocks to float32 and refuses a column that float32 cannot hold. A float keeps 24
 * significant bits, so a column whose values sit far from zero compared with their spread — an id, a Unix
 * timestamp ({@code 1.7e9 ± 1} rounds to multiples of 128) — loses its variation, silently, where float64
 * kept it. For every row of the blocks (a feature, or a target) this tracks the range of the values within
 * the partition and the largest rounding error; when that error exceeds {@value #MAX_ROUNDING_OF_RANGE} of
 * the range the partition fails with a message naming the column and the remedy. A constant column is
 * fine (it rounds to one constant), as is any column whose values round exactly (pixels, flags, counts).
 * Sparse blocks are narrowed too (their non-zeros to float), their implicit zeros counted in a column's range.
 * Not thread-safe; one per partition.
 */
final class Float32Columns {
    /** The largest rounding error allowed, as a fraction of the column's range ({@code 2^-10}). */
    static final double MAX_ROUNDING_OF_RANGE = 0x1p-10;

    private final IntFunction<String> names;
    private final double[] min;
    private final double[] max;
    private final double[] rounding;
    /** Non-zeros of each row in the sparse blocks narrowed so far; {@code null} until one is. */
    private int[] sparseNonZeros;
    /** Examples of the sparse blocks narrowed so far. */
    private long sparseColumns;

    /** Tracks {@code rows} columns, column {@code i} named {@code names.apply(i)} in messages. */
    Float32Columns(int rows, IntFunction<String> names) {
        this.names = names;
        this.min = new double[rows];
        this.max = new double[rows];
        this.rounding = new double[rows];
        Arrays.fill(min, Double.POSITIVE_INFINITY);
        Arrays.fill(max, Double.NEGATIVE_INFINITY);
    }

    /**
     * {@code m} (one column per example, one row per tracked column) rounded to float.
     *
     * @throws IllegalArgumentException when a finite value is beyond float32's range
     */
    FMatrixRMaj narrow(DMatrixRMaj m, int partition) {
        FMatrixRMaj out = new FMatrixRMaj(m.numRows, m.numCols);
        int cols = m.numCols;
        for (int i = 0; i < m.numRows; i++) {
            for (int j = i * cols; j < (i + 1) * cols; j++) {
                out.data[j] = round(i, m.data[j], partition);
            }
        }
        return out;
    }

    /**
     * {@code v}, a value of tracked row {@code row}, rounded to float; the row's range and largest rounding error
     * take it in.
     */
    private float round(int row, double v, int partition) {
        float f = (float) v;
        if (Float.isInfinite(f)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s is %s in partition %d, beyond float32's range (±3.4e38); train with precision float64",
                    names.apply(row), v, partition));
        }
        min[row] = Math.min(min[row], v);
        max[row] = Math.max(max[row], v);
        rounding[row] = Math.max(rounding[row], Math.abs(v - f));
        return f;
    }

    /**
     * {@code m} (a sparse block: one compressed column per example, a tracked column per row) with its non-zeros
     * rounded to float: 8 bytes a non-zero instead of 12. A column's range also counts the zeros sparse blocks
     * leave implicit ({@link #check}).
     *
     * @throws IllegalArgumentException when a finite value is beyond float32's range
     */
    FMatrixSparseCSC narrow(DMatrixSparseCSC m, int partition) {
        int nz = m.nz_length;
        FMatrixSparseCSC out = new FMatrixSparseCSC(m.numRows, m.numCols, nz);
        System.arraycopy(m.col_idx, 0, out.col_idx, 0, m.numCols + 1);
        System.arraycopy(m.nz_rows, 0, out.nz_rows, 0, nz);
        out.nz_length = nz;
        out.indicesSorted = m.indicesSorted;
        if (sparseNonZeros == null) {
            sparseNonZeros = new int[min.length];
        }
        for (int k = 0; k < nz; k++) {
            int i = m.nz_rows[k];
            out.nz_values[k] = round(i, m.nz_values[k], partition);
            sparseNonZeros[i]++;
        }
        sparseColumns += m.numCols;
        return out;
    }

    /**
     * Fails when a column's values, rounded to float, lost more than {@value #MAX_ROUNDING_OF_RANGE} of the
     * column's range in this partition.
     */
    void check(int partition) {
        for (int i = 0; sparseNonZeros != null && i < min.length; i++) {
            if (sparseNonZeros[i] < sparseColumns) {
                // an example of a sparse block without this feature holds 0 in its column
                min[i] = Math.min(min[i], 0.0);
                max[i] = Math.max(max[i], 0.0);
            }
        }
        for (int i = 0; i < min.length; i++) {
            double range = max[i] - min[i];
            if (range > 0 && rounding[i] > MAX_ROUNDING_OF_RANGE * range) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "%s cannot be held in float32: its values in partition %d lie between %s and %s, and "
                                + "rounding them to float moves them by up to %.3g, %.2g%% of that range; centre the "
                                + "column (subtract its mean) or train with precision float64",
                        names.apply(i), partition, min[i], max[i], rounding[i], 100 * rounding[i] / range));
            }
        }
    }
}
