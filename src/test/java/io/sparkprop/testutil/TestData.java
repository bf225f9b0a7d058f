package io.sparkprop.testutil;

import java.util.SplittableRandom;

import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;

/** Seeded random matrices and vectors for tests. */
public final class TestData {
    private TestData() {
    }

    /** A {@code rows×cols} matrix with entries uniform in {@code [lo, hi)}. */
    public static DMatrixRMaj uniform(SplittableRandom random, int rows, int cols, double lo, double hi) {
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        for (int i = 0; i < m.getNumElements(); i++) {
            m.data[i] = lo + (hi - lo) * random.nextDouble();
        }
        return m;
    }

    /** Entries uniform in {@code [lo, hi)}. */
    public static double[] uniform(SplittableRandom random, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * random.nextDouble();
        }
        return v;
    }

    /** One-hot columns: a {@code classes×cols} matrix with a single 1 per column. */
    public static DMatrixRMaj oneHot(SplittableRandom random, int classes, int cols) {
        DMatrixRMaj m = new DMatrixRMaj(classes, cols);
        for (int j = 0; j < cols; j++) {
            m.set(random.nextInt(classes), j, 1.0);
        }
        return m;
    }

    /** Column {@code j} of {@code m} as a {@code rows×1} matrix. */
    public static DMatrixRMaj column(DMatrixRMaj m, int j) {
        DMatrixRMaj c = new DMatrixRMaj(m.numRows, 1);
        for (int i = 0; i < m.numRows; i++) {
            c.data[i] = m.get(i, j);
        }
        return c;
    }

    /**
     * Writes an IDX file: the big-endian magic number and header integers, then the payload bytes;
     * gzipped when the file name ends in {@code .gz}.
     */
    public static void writeIdx(java.nio.file.Path file, int magic, int[] header, byte[] payload)
            throws java.io.IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
        out.writeInt(magic);
        for (int h : header) {
            out.writeInt(h);
        }
        out.write(payload);
        try (java.io.OutputStream os = file.toString().endsWith(".gz")
                ? new java.util.zip.GZIPOutputStream(java.nio.file.Files.newOutputStream(file))
                : java.nio.file.Files.newOutputStream(file)) {
            os.write(bytes.toByteArray());
        }
    }

    /** {@code m} rounded to float, as a new float matrix. */
    public static FMatrixRMaj narrow(DMatrixRMaj m) {
        FMatrixRMaj f = new FMatrixRMaj(m.numRows, m.numCols);
        for (int i = 0; i < f.data.length; i++) {
            f.data[i] = (float) m.data[i];
        }
        return f;
    }

    /** {@code values} rounded to float in place (modified), so that a float32 path holds them exactly; returns it. */
    public static double[] floatExact(double[] values) {
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) values[i];
        }
        return values;
    }

    /** {@link #floatExact(double[])} of {@code m}'s values; returns {@code m}. */
    public static DMatrixRMaj floatExact(DMatrixRMaj m) {
        floatExact(m.data);
        return m;
    }

    /** {@code ‖a − b‖₂ / ‖a‖₂}: the norm-wise relative error of {@code b} against {@code a}. */
    public static double relativeNormError(double[] a, double[] b) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            norm += a[i] * a[i];
        }
        return Math.sqrt(diff / norm);
    }

    /** {@code max_i |a_i − b_i| / max(max_i |a_i|, max_i |b_i|, tiny)}. */
    public static double maxRelativeDifference(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.max(Math.abs(a[i]), Math.abs(b[i])));
        }
        return diff / Math.max(scale, Double.MIN_NORMAL);
    }

    /** {@code m} ({@code n × B}, examples as columns) as a compressed sparse column matrix of its non-zeros. */
    public static org.ejml.data.DMatrixSparseCSC sparseColumns(DMatrixRMaj m) {
        int nonZeros = 0;
        for (double v : m.data) {
            nonZeros += v != 0.0 ? 1 : 0;
        }
        org.ejml.data.DMatrixSparseCSC s = new org.ejml.data.DMatrixSparseCSC(m.numRows, m.numCols, nonZeros);
        int nz = 0;
        for (int j = 0; j < m.numCols; j++) {
            s.col_idx[j] = nz;
            for (int i = 0; i < m.numRows; i++) {
                double v = m.get(i, j);
                if (v != 0.0) {
                    s.nz_rows[nz] = i;
                    s.nz_values[nz++] = v;
                }
            }
        }
        s.col_idx[m.numCols] = nz;
        s.nz_length = nz;
        s.indicesSorted = true;
        return s;
    }

    /** {@code m} with each value kept with probability {@code density} and set to 0 otherwise (modified); returns it. */
    public static DMatrixRMaj sparsify(SplittableRandom random, DMatrixRMaj m, double density) {
        for (int i = 0; i < m.data.length; i++) {
            if (random.nextDouble() >= density) {
                m.data[i] = 0.0;
            }
        }
        return m;
    }
}
