package io.sparkprop.exec;

import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.ejml.data.DMatrixSparseCSC;

/**
 * The one writer of feature vectors into blocks, for packing ({@link ShardPacker}) and scoring
 * ({@link BlockScorer}): into a dense block at any layout (value {@code i} at {@code base + i·stride}: a column
 * of an {@code n×B} block, or a row of a {@code B×n} one), or appended to the compressed columns of a sparse
 * block. It writes and does not check: the packer checks every value first (and names a bad row), the scorer only
 * the size.
 */
final class BlockWriter {
    private BlockWriter() {
    }

    /**
     * Writes the {@code n} values of {@code v} to {@code d[base + i·stride]}. Where {@code zeroed}, the slots
     * already hold 0 and only a sparse vector's stored entries are written; otherwise every slot is.
     */
    static void put(Vector v, double[] d, int base, int stride, boolean zeroed) {
        int n = v.size();
        if (v instanceof DenseVector) {
            double[] values = ((DenseVector) v).values();
            if (stride == 1) {
                System.arraycopy(values, 0, d, base, n);
            } else {
                for (int i = 0; i < n; i++) {
                    d[base + i * stride] = values[i];
                }
            }
        } else if (v instanceof SparseVector) {
            SparseVector s = (SparseVector) v;
            int[] indices = s.indices();
            double[] values = s.values();
            if (!zeroed) {
                for (int i = 0; i < n; i++) {
                    d[base + i * stride] = 0.0;
                }
            }
            for (int k = 0; k < indices.length; k++) {
                d[base + indices[k] * stride] = values[k];
            }
        } else {
            for (int i = 0; i < n; i++) {
                d[base + i * stride] = v.apply(i);
            }
        }
    }

    /**
     * Appends the non-zeros of {@code v} (indices ascending, zeros dropped) to {@code x}'s arrays from entry
     * {@code nz}, which must have room for them; returns the next free entry.
     */
    static int appendNonZeros(Vector v, DMatrixSparseCSC x, int nz) {
        if (v instanceof SparseVector) {
            SparseVector s = (SparseVector) v;
            int[] indices = s.indices();
            double[] values = s.values();
            for (int k = 0; k < indices.length; k++) {
                if (values[k] != 0.0) {
                    x.nz_rows[nz] = indices[k];
                    x.nz_values[nz++] = values[k];
                }
            }
        } else {
            double[] values = v instanceof DenseVector ? ((DenseVector) v).values() : v.toArray();
            for (int i = 0; i < values.length; i++) {
                if (values[i] != 0.0) {
                    x.nz_rows[nz] = i;
                    x.nz_values[nz++] = values[i];
                }
            }
        }
        return nz;
    }
}
