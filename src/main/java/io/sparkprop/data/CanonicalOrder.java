package io.sparkprop.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;

/**
 * An order of a partition's examples that depends on their contents alone: by a 64-bit hash of
 * the non-zero features (index and bits), the target and the weight, and on equal hashes by those
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

    /** The positions of {@code examples} in canonical order. */
    static int[] of(List<Example> examples) {
        int n = examples.size();
        long[] hashes = new long[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            hashes[i] = hash(examples.get(i));
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Long.compare(hashes[a], hashes[b]);
            return c != 0 ? c : compareValues(examples.get(a), examples.get(b));
        });
        int[] result = new int[n];
        for (int i = 0; i < n; i++) {
            result[i] = order[i];
        }
        return result;
    }

    /** Drains {@code examples} into a list (the partition is packed whole anyway). */
    static List<Example> drain(Iterator<Example> examples) {
        List<Example> all = new ArrayList<>();
        examples.forEachRemaining(all::add);
        return all;
    }

    static long hash(Example e) {
        long h = 0x243F6A8885A308D3L;
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
        h = mix(h ^ v.size());
        for (double t : e.target()) {
            h = mix(h ^ Double.doubleToLongBits(t));
        }
        return mix(h ^ Double.doubleToLongBits(e.weight()));
    }

    /** Zeros (either sign) are skipped, so dense and sparse forms of one vector hash alike. */
    private static long mixEntry(long h, int index, double value) {
        if (value == 0.0) {
            return h;
        }
        return mix(h ^ mix(((long) index << 32) ^ Double.doubleToLongBits(value)));
    }

    /** The finaliser of MurmurHash3's 64-bit variant: every input bit affects every output bit. */
    private static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    private static int compareValues(Example a, Example b) {
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
