package io.sparkprop.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.util.Hashing;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;

/**
 * An order of a partition's examples that depends on their contents alone: by a 64-bit hash of
 * the non-zero features (index and bits), the target and the weight, and on equal hash bits by those
 * values themselves. Examples equal in every value are interchangeable, so the order of the
 * values is fully determined.
 *
 * <p>Why: Spark fixes which rows a shuffle puts in a partition, not their order — a reducer
 * appends the map outputs in the order its fetches complete, which differs between a
 * single-executor and a multi-executor cluster and again when a lost partition is rebuilt. The
 * blocks, and so the sums of the gradients, must not depend on that order.
 */
final class CanonicalOrder {
    private CanonicalOrder() {
    }

    /**
     * The positions of {@code examples} in canonical order: by {@link #hash}, and on equal hash bits by
     * value ({@link #sortByHash}).
     */
    static int[] of(List<Example> examples) {
        int n = examples.size();
        long[] hashes = new long[n];
        for (int i = 0; i < n; i++) {
            hashes[i] = hash(examples.get(i));
        }
        return sortByHash(hashes, n, (a, b) -> compareValues(examples.get(a), examples.get(b)));
    }

    /** Compares the items at two positions by value. */
    @FunctionalInterface
    interface ValueOrder {
        int compare(int a, int b);
    }

    /**
     * The positions {@code 0..n−1} ordered by {@code hashes}: sorted as primitives with the position in
     * a {@code long}'s low bits, then runs of equal hash bits (duplicates, or rare collisions) ordered
     * by {@code byValue}, so that the order depends on the items' values alone.
     */
    static int[] sortByHash(long[] hashes, int n, ValueOrder byValue) {
        if (n == 0) {
            return new int[0];
        }
        long indexMask = indexMask(n);
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            keys[i] = (hashes[i] & ~indexMask) | i;
        }
        Arrays.sort(keys);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = (int) (keys[i] & indexMask);
        }
        for (int start = 0; start < n; ) {
            int end = start + 1;
            while (end < n && (keys[end] & ~indexMask) == (keys[start] & ~indexMask)) {
                end++;
            }
            if (end - start > 1) {
                Integer[] run = new Integer[end - start];
                for (int k = start; k < end; k++) {
                    run[k - start] = order[k];
                }
                Arrays.sort(run, byValue::compare);
                for (int k = start; k < end; k++) {
                    order[k] = run[k - start];
                }
            }
            start = end;
        }
        return order;
    }

    /**
     * The low bits of a hash that {@link #sortByHash} gives to the position for {@code n} items, and so ignores
     * when it orders them: {@code ⌈log2 n⌉} bits, at least 1.
     */
    static long indexMask(long n) {
        int indexBits = Math.max(1, 64 - Long.numberOfLeadingZeros(n - 1));
        return (1L << indexBits) - 1;
    }

    private static final long MULTIPLIER = 0x9E3779B97F4A7C15L;

    /**
     * A hash of a packed row — {@code n} features from {@code x[xFrom]}, {@code m} targets from
     * {@code y[yFrom]}, a weight — for passes that order a partition's rows every time they run (the
     * ridge statistics) rather than once per fit: four interleaved polynomial hashes
     * {@code h_l ← h_l·K + bits(v + 0)} over the features (value {@code i} into lane {@code i mod 4}, so
     * that the multiplications do not wait on one another; adding +0 makes both zeros +0), then the
     * target and weight, mixed by MurmurHash3's finaliser. Cheaper than {@link #hash} on dense rows,
     * and not the same order: each pass uses one of the two.
     */
    static long hashRow(double[] x, int xFrom, int n, double[] y, int yFrom, int m, double weight) {
        long h0 = 0x243F6A8885A308D3L;
        long h1 = 0x13198A2E03707344L;
        long h2 = 0xA4093822299F31D0L;
        long h3 = 0x082EFA98EC4E6C89L;
        int i = xFrom;
        int end = xFrom + n;
        for (; i + 3 < end; i += 4) {
            h0 = h0 * MULTIPLIER + Double.doubleToRawLongBits(x[i] + 0.0);
            h1 = h1 * MULTIPLIER + Double.doubleToRawLongBits(x[i + 1] + 0.0);
            h2 = h2 * MULTIPLIER + Double.doubleToRawLongBits(x[i + 2] + 0.0);
            h3 = h3 * MULTIPLIER + Double.doubleToRawLongBits(x[i + 3] + 0.0);
        }
        for (; i < end; i++) {
            h0 = h0 * MULTIPLIER + Double.doubleToRawLongBits(x[i] + 0.0);
        }
        long h = mix(h0) ^ mix(h1 + 1) ^ mix(h2 + 2) ^ mix(h3 + 3) ^ n;
        for (int k = yFrom; k < yFrom + m; k++) {
            h = h * MULTIPLIER + Double.doubleToRawLongBits(y[k] + 0.0);
        }
        return mix(h * MULTIPLIER + Double.doubleToRawLongBits(weight + 0.0));
    }

    /** Drains {@code examples} into a list (the partition is packed whole anyway). */
    static List<Example> drain(Iterator<Example> examples) {
        List<Example> all = new ArrayList<>();
        examples.forEachRemaining(all::add);
        return all;
    }

    static long hash(Example e) {
        long h = HASH_SEED;
        Vector v = e.features();
        if (v instanceof SparseVector) {
            SparseVector s = (SparseVector) v;
            for (int k = 0; k < s.indices().length; k++) {
                h = mixEntry(h, s.indices()[k], s.values()[k]);
            }
        } else {
            double[] values = v instanceof DenseVector ? ((DenseVector) v).values() : v.toArray();
            for (int i = 0; i < values.length; i++) {
                h = mixEntry(h, i, values[i]);
            }
        }
        double[] target = e.target();
        return finish(h, v.size(), target, 0, target.length, e.weight());
    }

    /**
     * {@link #hash} of the example whose features are the {@code n} values from {@code x[xFrom]}, its targets the
     * {@code m} from {@code y[yFrom]}, and its weight {@code weight}: the same bits as {@link #hash} gives that
     * example in either vector form, so that rows kept packed order as the examples would.
     */
    static long hashDense(double[] x, int xFrom, int n, double[] y, int yFrom, int m, double weight) {
        long h = HASH_SEED;
        for (int i = 0; i < n; i++) {
            h = mixEntry(h, i, x[xFrom + i]);
        }
        return finish(h, n, y, yFrom, m, weight);
    }

    private static final long HASH_SEED = 0x243F6A8885A308D3L;

    /** The size, the targets and the weight mixed into a hash of the non-zero features. */
    private static long finish(long h, int size, double[] y, int yFrom, int m, double weight) {
        h = mix(h ^ size);
        for (int k = yFrom; k < yFrom + m; k++) {
            h = mix(h ^ Double.doubleToLongBits(y[k]));
        }
        return mix(h ^ Double.doubleToLongBits(weight));
    }

    /** Zeros (either sign) are skipped, so dense and sparse forms of one vector hash alike. */
    private static long mixEntry(long h, int index, double value) {
        if (value == 0.0) {
            return h;
        }
        return mix(h ^ mix(((long) index << 32) ^ Double.doubleToLongBits(value)));
    }

    /** {@link Hashing#murmurMix}. */
    private static long mix(long k) {
        return Hashing.murmurMix(k);
    }

    static int compareValues(Example a, Example b) {
        int c = Integer.compare(a.features().size(), b.features().size());
        if (c != 0) {
            return c;
        }
        double[] x = a.features().toArray();
        double[] y = b.features().toArray();
        for (int i = 0; i < x.length && c == 0; i++) {
            c = Double.compare(x[i], y[i]);
        }
        if (c != 0) {
            return c;
        }
        c = Arrays.compare(a.target(), b.target());
        return c != 0 ? c : Double.compare(a.weight(), b.weight());
    }
}
