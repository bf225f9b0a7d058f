package io.sparkprop.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

import io.sparkprop.util.Internal;

/**
 * Reads the IDX files of MNIST and Fashion-MNIST, gzipped ({@code .gz}) or plain: unsigned-byte
 * images (magic 2051: count, rows, columns, then one byte per pixel, row-major) and unsigned-byte
 * labels (magic 2049: count, then one byte per label). All header integers are big-endian.
 */
@Internal
public final class IdxReader {
    private static final int IMAGES_MAGIC = 0x00000803;
    private static final int LABELS_MAGIC = 0x00000801;

    private IdxReader() {
    }

    /**
     * The images of {@code file}, one {@code rows·columns} array per image, each pixel multiplied by
     * {@code scale} (e.g. {@code 1/255.0} for values in [0, 1]).
     *
     * @throws IllegalArgumentException if the file is not an IDX image file or is truncated
     * @throws UncheckedIOException     if it cannot be read
     */
    public static double[][] readImages(Path file, double scale) {
        try (InputStream raw = Files.newInputStream(file)) {
            return readImages(raw, file.toString(), scale);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IDX images from " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * As {@link #readImages(Path, double)} from a stream ({@code name} ending in {@code .gz} means
     * gzipped; it also names the source in errors). The stream is not closed.
     */
    public static double[][] readImages(InputStream raw, String file, double scale) {
        try {
            DataInputStream in = wrap(raw, file);
            checkMagic(file, in.readInt(), IMAGES_MAGIC, "image");
            int count = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            if (count < 0 || rows <= 0 || cols <= 0) {
                throw new IllegalArgumentException(file + ": bad IDX image header (count " + count + ", " + rows
                        + "x" + cols + ")");
            }
            int pixels = rows * cols;
            byte[] buffer = new byte[pixels];
            double[][] images = new double[count][pixels];
            for (int i = 0; i < count; i++) {
                readFully(in, buffer, file, i, count);
                double[] image = images[i];
                for (int p = 0; p < pixels; p++) {
                    image[p] = (buffer[p] & 0xff) * scale;
                }
            }
            return images;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IDX images from " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The labels of {@code file}.
     *
     * @throws IllegalArgumentException if the file is not an IDX label file or is truncated
     * @throws UncheckedIOException     if it cannot be read
     */
    public static int[] readLabels(Path file) {
        try (InputStream raw = Files.newInputStream(file)) {
            return readLabels(raw, file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IDX labels from " + file + ": " + e.getMessage(), e);
        }
    }

    /** As {@link #readLabels(Path)} from a stream; the stream is not closed. */
    public static int[] readLabels(InputStream raw, String file) {
        try {
            DataInputStream in = wrap(raw, file);
            checkMagic(file, in.readInt(), LABELS_MAGIC, "label");
            int count = in.readInt();
            if (count < 0) {
                throw new IllegalArgumentException(file + ": bad IDX label header (count " + count + ")");
            }
            byte[] buffer = new byte[count];
            readFully(in, buffer, file, 0, 1);
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = buffer[i] & 0xff;
            }
            return labels;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IDX labels from " + file + ": " + e.getMessage(), e);
        }
    }

    private static DataInputStream wrap(InputStream stream, String file) throws IOException {
        InputStream raw = new BufferedInputStream(stream, 1 << 16);
        return new DataInputStream(file.endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw);
    }

    private static void checkMagic(String file, int magic, int expected, String kind) {
        if (magic != expected) {
            throw new IllegalArgumentException(file + " is not an IDX " + kind + " file: magic number " + magic
                    + ", expected " + expected);
        }
    }

    private static void readFully(DataInputStream in, byte[] buffer, String file, int item, int count) throws IOException {
        try {
            in.readFully(buffer);
        } catch (EOFException e) {
            throw new IllegalArgumentException(file + " is truncated: it ends in item " + item + " of " + count, e);
        }
    }
}
