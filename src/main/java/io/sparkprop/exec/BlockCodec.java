package io.sparkprop.exec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.FMatrixSparseCSC;
import org.ejml.data.Matrix;

/**
 * A packed block ({@code X}, {@code Y}, weights) in its binary form on disk: the arrays as they are in memory,
 * so that a block read back is the same bits as the block that was written, with no parsing.
 *
 * <pre>
 *   int magic, int crc32c of what follows the header,
 *   int xKind (0 float64, 1 float32, 2 sparse CSC, 3 sparse CSC of floats), int n, int b, int nonZeros,
 *   int yKind (0 float64, 1 float32), int m, int hasWeights
 *   X: n·b doubles or floats, or b+1 column starts, nonZeros row indices, nonZeros doubles or floats
 *   Y: m·b doubles or floats
 *   w: b doubles when hasWeights (a block whose weights are all 1 stores none)
 * </pre>
 *
 * In the platform's byte order: the executor that writes a block is the one that reads it, or one of the same
 * cluster, which Spark requires to run one JVM build.
 */
final class BlockCodec {
    private static final int MAGIC = 0x5350424B; // "SPBK"
    static final int HEADER_BYTES = 9 * 4;
    private static final int DENSE64 = 0;
    private static final int DENSE32 = 1;
    private static final int SPARSE = 2;
    private static final int SPARSE32 = 3;

    private BlockCodec() {
    }

    /** A block read back: {@code weights} is {@code null} when every weight in it is 1. */
    record Decoded(Matrix x, Matrix y, double[] weights) {
    }

    /** Bytes {@link #encode} writes for this block. */
    static int encodedBytes(Matrix x, Matrix y, double[] w) {
        long bytes = HEADER_BYTES + valueBytes(x) + valueBytes(y) + (w == null ? 0 : 8L * w.length);
        if (bytes > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("a packed block of " + bytes + " bytes is larger than one file read "
                    + "can hold; use a smaller blockSize");
        }
        return (int) bytes;
    }

    private static long valueBytes(Matrix a) {
        if (Shard.isSparse(a)) {
            return Shard.sparseBytes(a);
        }
        long values = (long) a.getNumRows() * a.getNumCols();
        return a instanceof FMatrixRMaj ? 4 * values : 8 * values;
    }

    /**
     * Writes the block at {@code out}'s position (which advances by {@link #encodedBytes}); {@code w} {@code null}
     * stores no weights.
     */
    static void encode(Matrix x, Matrix y, double[] w, ByteBuffer out) {
        ByteBuffer o = out.order(ByteOrder.nativeOrder());
        int start = o.position();
        int b = x.getNumCols();
        int xKind = x instanceof DMatrixSparseCSC ? SPARSE : x instanceof FMatrixSparseCSC ? SPARSE32
                : x instanceof FMatrixRMaj ? DENSE32 : DENSE64;
        int nonZeros = Shard.isSparse(x) ? Shard.nonZeros(x) : 0;
        o.putInt(MAGIC).putInt(0).putInt(xKind).putInt(x.getNumRows()).putInt(b).putInt(nonZeros)
                .putInt(y instanceof FMatrixRMaj ? DENSE32 : DENSE64).putInt(y.getNumRows()).putInt(w == null ? 0 : 1);
        switch (xKind) {
            case SPARSE: {
                DMatrixSparseCSC s = (DMatrixSparseCSC) x;
                putInts(o, s.col_idx, b + 1);
                putInts(o, s.nz_rows, nonZeros);
                putDoubles(o, s.nz_values, nonZeros);
                break;
            }
            case SPARSE32: {
                FMatrixSparseCSC s = (FMatrixSparseCSC) x;
                putInts(o, s.col_idx, b + 1);
                putInts(o, s.nz_rows, nonZeros);
                putFloats(o, s.nz_values, nonZeros);
                break;
            }
            case DENSE32:
                putFloats(o, ((FMatrixRMaj) x).data, x.getNumRows() * b);
                break;
            default:
                putDoubles(o, ((DMatrixRMaj) x).data, x.getNumRows() * b);
        }
        if (y instanceof FMatrixRMaj) {
            putFloats(o, ((FMatrixRMaj) y).data, y.getNumRows() * b);
        } else {
            putDoubles(o, ((DMatrixRMaj) y).data, y.getNumRows() * b);
        }
        if (w != null) {
            putDoubles(o, w, b);
        }
        o.putInt(start + 4, crc(o, start + HEADER_BYTES, o.position()));
    }

    /**
     * Reads the block that fills {@code in} from its position to its limit.
     *
     * @throws IllegalStateException when the bytes are not a whole, intact block: {@code where} names it
     */
    static Decoded decode(ByteBuffer in, String where) {
        return decode(in, () -> where, null);
    }

    /**
     * As {@link #decode(ByteBuffer, String)}, into the arrays of {@code reuse} where the block has their kind and
     * shape (dense {@code X}, {@code Y} and the weights), so that a stream of blocks of one size allocates nothing;
     * {@code where} (the block's file and place, for messages) is asked for only when the bytes are not a block.
     */
    static Decoded decode(ByteBuffer in, java.util.function.Supplier<String> where, Decoded reuse) {
        ByteBuffer i = in.order(ByteOrder.nativeOrder());
        int start = i.position();
        if (i.remaining() < HEADER_BYTES || i.getInt(start) != MAGIC) {
            throw new IllegalStateException(where.get() + " is not a packed block (" + i.remaining()
                    + " bytes, no block header)");
        }
        int crc = crc(i, start + HEADER_BYTES, i.limit());
        if (crc != i.getInt(start + 4)) {
            throw new IllegalStateException(where.get() + " is damaged: its checksum does not match its " + i.remaining()
                    + " bytes");
        }
        i.position(start + 8);
        int xKind = i.getInt();
        int n = i.getInt();
        int b = i.getInt();
        int nonZeros = i.getInt();
        int yKind = i.getInt();
        int m = i.getInt();
        boolean hasWeights = i.getInt() != 0;
        Matrix x;
        switch (xKind) {
            case SPARSE: {
                DMatrixSparseCSC s = new DMatrixSparseCSC(n, b, nonZeros);
                getInts(i, s.col_idx, b + 1);
                getInts(i, s.nz_rows, nonZeros);
                getDoubles(i, s.nz_values, nonZeros);
                s.nz_length = nonZeros;
                s.indicesSorted = true;
                x = s;
                break;
            }
            case SPARSE32: {
                FMatrixSparseCSC s = new FMatrixSparseCSC(n, b, nonZeros);
                getInts(i, s.col_idx, b + 1);
                getInts(i, s.nz_rows, nonZeros);
                getFloats(i, s.nz_values, nonZeros);
                s.nz_length = nonZeros;
                s.indicesSorted = true;
                x = s;
                break;
            }
            default:
                x = dense(i, xKind, n, b, reuse == null ? null : reuse.x());
        }
        Matrix y = dense(i, yKind, m, b, reuse == null ? null : reuse.y());
        double[] w = null;
        if (hasWeights) {
            w = reuse != null && reuse.weights() != null && reuse.weights().length == b ? reuse.weights()
                    : new double[b];
            getDoubles(i, w, b);
        }
        return new Decoded(x, y, w);
    }

    /**
     * A dense {@code rows × cols} matrix of {@code kind} ({@link #DENSE32} floats, else doubles) read from
     * {@code i}, into {@code reuse} when it has that kind and shape.
     */
    private static Matrix dense(ByteBuffer i, int kind, int rows, int cols, Matrix reuse) {
        Class<?> type = kind == DENSE32 ? FMatrixRMaj.class : DMatrixRMaj.class;
        boolean fits = reuse != null && reuse.getClass() == type && reuse.getNumRows() == rows
                && reuse.getNumCols() == cols;
        if (kind == DENSE32) {
            FMatrixRMaj f = fits ? (FMatrixRMaj) reuse : new FMatrixRMaj(rows, cols);
            getFloats(i, f.data, rows * cols);
            return f;
        }
        DMatrixRMaj d = fits ? (DMatrixRMaj) reuse : new DMatrixRMaj(rows, cols);
        getDoubles(i, d.data, rows * cols);
        return d;
    }

    private static int crc(ByteBuffer buffer, int from, int to) {
        CRC32C crc = new CRC32C();
        ByteBuffer view = buffer.duplicate();
        view.limit(to).position(from);
        crc.update(view);
        return (int) crc.getValue();
    }

    private static void putDoubles(ByteBuffer o, double[] a, int length) {
        o.asDoubleBuffer().put(a, 0, length);
        o.position(o.position() + 8 * length);
    }

    private static void putFloats(ByteBuffer o, float[] a, int length) {
        o.asFloatBuffer().put(a, 0, length);
        o.position(o.position() + 4 * length);
    }

    private static void putInts(ByteBuffer o, int[] a, int length) {
        o.asIntBuffer().put(a, 0, length);
        o.position(o.position() + 4 * length);
    }

    private static void getDoubles(ByteBuffer i, double[] a, int length) {
        i.asDoubleBuffer().get(a, 0, length);
        i.position(i.position() + 8 * length);
    }

    private static void getFloats(ByteBuffer i, float[] a, int length) {
        i.asFloatBuffer().get(a, 0, length);
        i.position(i.position() + 4 * length);
    }

    private static void getInts(ByteBuffer i, int[] a, int length) {
        i.asIntBuffer().get(a, 0, length);
        i.position(i.position() + 4 * length);
    }
}
