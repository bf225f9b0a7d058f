package io.sparkprop.util;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;

/**
 * Arrays of doubles in Java serialisation as raw bytes, a chunk at a time. {@code ObjectOutputStream} writes a
 * {@code double[]} one value at a time through {@code Bits.putLong} (measured: most of a round's time in writing
 * and reading the touched rows of a wide first layer); a chunk converted by a {@link ByteBuffer} view and written
 * as bytes moves the same bits several times faster. Little-endian, the order of the machines Spark runs on, so
 * the conversion is a copy.
 */
@Internal
public final class DoubleArrays {
    /** Doubles converted at a time: 1 MB of bytes. */
    private static final int CHUNK = 1 << 17;

    private DoubleArrays() {
    }

    /** Writes {@code values}' length, then their bytes. */
    public static void write(ObjectOutputStream out, double[] values) throws IOException {
        out.writeInt(values.length);
        ByteBuffer bytes = ByteBuffer.allocate(8 * Math.min(CHUNK, values.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < values.length; from += CHUNK) {
            int count = Math.min(CHUNK, values.length - from);
            bytes.clear();
            bytes.asDoubleBuffer().put(values, from, count);
            out.write(bytes.array(), 0, 8 * count);
        }
    }

    /**
     * Writes rows {@code rows[picked[0]]}, {@code rows[picked[1]]}, … ({@code width} values each) as
     * {@link #write} writes them one after another in one array, which {@link #read} reads — without that array.
     */
    public static void writeRows(ObjectOutputStream out, double[][] rows, int[] picked, int width) throws IOException {
        int length = picked.length * width;
        out.writeInt(length);
        int perChunk = Math.max(1, CHUNK / Math.max(1, width));
        ByteBuffer bytes = ByteBuffer.allocate(8 * Math.min(perChunk * width, length)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < picked.length; from += perChunk) {
            int count = Math.min(perChunk, picked.length - from);
            bytes.clear();
            DoubleBuffer view = bytes.asDoubleBuffer();
            for (int k = from; k < from + count; k++) {
                view.put(rows[picked[k]], 0, width);
            }
            out.write(bytes.array(), 0, 8 * count * width);
        }
    }

    /** Writes how many arrays {@code arrays} holds, then each as {@link #write} writes it. */
    public static void writeEach(ObjectOutputStream out, double[][] arrays) throws IOException {
        out.writeInt(arrays.length);
        for (double[] a : arrays) {
            write(out, a);
        }
    }

    /**
     * Reads what {@link #writeEach} wrote.
     *
     * @throws java.io.InvalidObjectException if it holds a negative count of arrays or more than {@code atMost}
     */
    public static double[][] readEach(ObjectInputStream in, int atMost) throws IOException {
        int count = in.readInt();
        if (count < 0 || count > atMost) {
            throw new java.io.InvalidObjectException("expected at most " + atMost + " arrays, found " + count);
        }
        double[][] arrays = new double[count][];
        for (int a = 0; a < count; a++) {
            arrays[a] = read(in);
        }
        return arrays;
    }

    /** Reads what {@link #write} wrote. */
    public static double[] read(ObjectInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            throw new java.io.InvalidObjectException("negative array length " + length);
        }
        double[] values = new double[length];
        ByteBuffer bytes = ByteBuffer.allocate(8 * Math.min(CHUNK, length)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < length; from += CHUNK) {
            int count = Math.min(CHUNK, length - from);
            in.readFully(bytes.array(), 0, 8 * count);
            bytes.clear();
            bytes.asDoubleBuffer().get(values, from, count);
        }
        return values;
    }
}
