package io.sparkprop.nn;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkprop.util.DoubleArrays;

/**
 * A running sum over examples of what one iteration needs: the weight and bias gradients of the
 * weighted loss sum {@code Σ_i w_i ∇C_i} (same layout as {@link Parameters}), the weighted loss sum
 * {@code Σ_i w_i C_i}, the weight sum {@code Σ_i w_i} and the example count. The kernel adds
 * blocks into it; partial sums {@link #mergeInPlace merge} in place, so aggregation allocates one
 * per task at most.
 *
 * <p>Sparse input blocks. The kernel adds the first layer's gradient of a sparse block,
 * {@code ∇W_0 += Δ_0 Xᵀ}, one non-zero {@code x_{fj}} at a time as {@code ∇W_0[:, f] += x_{fj} δ_0^{(j)}} —
 * a column of the row-major {@code ∇W_0}, {@code n_1} values a stride {@code n_0} apart. It adds into rows
 * of {@code ∇W_0ᵀ} instead ({@link #pendingFirstLayerRows}), one array of {@code n_1} values per feature,
 * made when a block first touches the feature; they are added into {@code ∇W_0} only when the gradient is
 * read ({@link #gradient()}).
 *
 * <p>Exchange. A sum whose {@code ∇W_0} holds nothing but such transposed rows travels (Java serialisation,
 * Spark's task results) as those rows — the features the task's examples touched — and the rest of the
 * gradient dense: for a {@code 2^18}-wide input and a mini-batch slice that
 * touches a quarter of the features, a quarter of the first layer's bytes. Merging two such sums adds their
 * rows over the union of the touched features, in the fixed merge order, so the merged sum holds the same
 * values as the dense merge would; a sum with a dense {@code ∇W_0} (a dense block's, or one that was read)
 * merges and travels dense.
 *
 * <p>Rows only. A sum {@link #withFirstLayerRows made for} parameters that keep {@code W_0} as rows per feature
 * never holds {@code ∇W_0} dense: its other values are a {@link Parameters#withoutFirstLayerWeights(NetworkSpec)
 * first-layer-less} array, it takes sparse blocks only, and its first layer's gradient is read as the touched rows
 * ({@link #touchedFeatures()}, {@link #touchedRows()}), never as {@code ∇W_0}: nothing of the size of {@code W_0}
 * is allocated, merged or sent.
 */
@DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
public final class GradientSum implements Serializable {
    private static final long serialVersionUID = 3L;
    /** Compact rows added into {@code ∇W_0} a chunk at a time, so that the chunk stays in cache over the units. */
    private static final int FLUSH_CHUNK = 256;

    private transient Parameters gradient;
    /** Whether {@code W_0}'s gradient is kept as touched rows alone ({@link #withFirstLayerRows}). */
    private transient boolean rowsOnly;
    /**
     * Whether {@link #gradient}'s {@code W_0} block may hold values (a dense block wrote it, or the gradient
     * was handed out); if not, the first layer's weight gradient is the transposed parts alone.
     */
    private transient boolean firstLayerDense;
    /**
     * Rows of {@code ∇W_0ᵀ} not yet added into {@link #gradient}: entry {@code f} the {@code n_1} values of
     * feature {@code f}, {@code null} (all zero) until a sparse block touches it; {@code null} until a sparse
     * block needs it.
     */
    private transient double[][] pendingRows;
    /** Whether {@link #pendingRows} may hold a row. */
    private transient boolean pending;
    /**
     * Rows of {@code ∇W_0ᵀ} not yet added, in the exchanged form: features ascending, {@code n_1} values each;
     * {@code null} if none.
     */
    private transient int[] compactFeatures;
    private transient double[] compactRows;
    private double lossSum;
    private double weightSum;
    private long count;

    /** An empty sum for a network. */
    public GradientSum(NetworkSpec spec) {
        this.gradient = Parameters.zeros(spec);
    }

    /**
     * An empty sum for parameters that keep {@code W_0} as rows per feature: the first layer's gradient is
     * kept as touched rows alone (class comment, "Rows only").
     */
    public static GradientSum withFirstLayerRows(NetworkSpec spec) {
        GradientSum sum = new GradientSum(spec, Parameters.withoutFirstLayerWeights(spec));
        sum.rowsOnly = true;
        return sum;
    }

    private GradientSum(NetworkSpec spec, Parameters gradient) {
        this.gradient = gradient;
    }

    /** An empty sum shaped for {@code at}: {@link #withFirstLayerRows} when {@code at} does not hold {@code W_0}. */
    public static GradientSum like(Parameters at) {
        return at.holdsFirstLayerWeights() ? new GradientSum(at.spec()) : withFirstLayerRows(at.spec());
    }

    /** Whether the first layer's gradient is kept as touched rows alone ({@link #withFirstLayerRows}). */
    public boolean keepsFirstLayerRows() {
        return rowsOnly;
    }

    /**
     * Rows only: the gradient's values other than {@code ∇W_0}, live, in the
     * {@link Parameters#withoutFirstLayerWeights(NetworkSpec) first-layer-less} layout.
     *
     * @throws IllegalStateException for a sum that holds {@code ∇W_0} ({@link #gradient()} reads it)
     */
    public Parameters gradientWithoutFirstLayer() {
        checkRowsOnly();
        return gradient;
    }

    /** Rows only: the features whose first-layer row the sum's examples touched, ascending (live). */
    public int[] touchedFeatures() {
        checkRowsOnly();
        compact();
        return compactFeatures == null ? new int[0] : compactFeatures;
    }

    /**
     * Rows only: the touched rows of {@code ∇W_0ᵀ}, {@code n_1} values each, in the order of
     * {@link #touchedFeatures()} (live).
     */
    public double[] touchedRows() {
        checkRowsOnly();
        compact();
        return compactRows == null ? new double[0] : compactRows;
    }

    private void checkRowsOnly() {
        if (!rowsOnly) {
            throw new IllegalStateException("this sum holds the first layer's gradient dense: read it with gradient()");
        }
    }

    /**
     * The summed gradient {@code Σ_i w_i ∇C_i}, live (any transposed first-layer part added first).
     *
     * @throws IllegalStateException for a sum that keeps the first layer as rows ({@link #withFirstLayerRows})
     */
    public Parameters gradient() {
        if (rowsOnly) {
            throw new IllegalStateException("this sum keeps the first layer's gradient as touched rows: read them "
                    + "with touchedFeatures() and touchedRows()");
        }
        flushTransposed();
        firstLayerDense = true;
        return gradient;
    }

    /**
     * The gradient as the kernel adds into it: like {@link #gradient()}, but without adding the transposed
     * first-layer part, which the kernel may go on adding into. For the kernel only: it adds every layer's
     * bias gradient and the weight gradients of layers after the first here, and calls
     * {@link #firstLayerWrittenDense()} before it adds a dense block's {@code ∇W_0}.
     */
    public Parameters accumulator() {
        return gradient;
    }

    /** Records that {@code ∇W_0} in {@link #accumulator()} is being added into (a dense block). For the kernel. */
    public void firstLayerWrittenDense() {
        if (rowsOnly) {
            throw new IllegalStateException("a dense block was added into a sum that keeps the first layer's "
                    + "gradient as rows: parameters kept as rows per feature take sparse blocks only");
        }
        firstLayerDense = true;
    }

    /**
     * The rows of {@code ∇W_0ᵀ} the kernel adds a sparse block's first-layer gradient into: entry {@code f}
     * holds feature {@code f}'s {@code n_1} values, or is {@code null} for zeros — the kernel makes the row
     * when it first adds into it. Added into {@code ∇W_0} before the gradient is next read. For the kernel's
     * sparse blocks only.
     */
    public double[][] pendingFirstLayerRows() {
        if (pendingRows == null) {
            pendingRows = new double[gradient.spec().inputSize()][];
        }
        pending = true;
        return pendingRows;
    }

    /** {@code Σ_i w_i C_i}. */
    public double lossSum() {
        return lossSum;
    }

    /** {@code Σ_i w_i} (the example count when no weights are given). */
    public double weightSum() {
        return weightSum;
    }

    /** Number of examples added. */
    public long count() {
        return count;
    }

    /** Adds one block's loss sum, weight sum and example count (the gradient is added by the kernel directly). */
    public void addTotalsInPlace(double loss, double weight, long examples) {
        lossSum += loss;
        weightSum += weight;
        count += examples;
    }

    /**
     * {@code this ← this + other}; returns {@code this}. Two sums whose {@code ∇W_0} is transposed rows alone
     * stay so (their rows added over the union of their features); otherwise both are made dense first.
     */
    public GradientSum mergeInPlace(GradientSum other) {
        if (rowsOnly != other.rowsOnly) {
            throw new IllegalArgumentException("cannot merge a sum that keeps the first layer as rows with one that "
                    + "does not");
        }
        if (!firstLayerDense && !other.firstLayerDense) {
            mergeTransposed(other);
            // the W_0 blocks are zero in both: add the rest
            int from = firstLayerWeights();
            double[] a = gradient.values();
            double[] b = other.gradient.values();
            for (int i = from; i < a.length; i++) {
                a[i] += b[i];
            }
        } else {
            gradient().axpyInPlace(1.0, other.gradient());
        }
        lossSum += other.lossSum;
        weightSum += other.weightSum;
        count += other.count;
        return this;
    }

    /** Clears to an empty sum. */
    public void resetInPlace() {
        if (pending) {
            Arrays.fill(pendingRows, null);
            pending = false;
        }
        compactFeatures = null;
        compactRows = null;
        firstLayerDense = false;
        gradient.setZeroInPlace();
        lossSum = 0;
        weightSum = 0;
        count = 0;
    }

    /**
     * Where the values after {@code W_0} start in {@link #gradient}: {@code n_0·n_1} in the flat layout, 0 for a
     * rows-only sum.
     */
    private int firstLayerWeights() {
        return rowsOnly ? 0 : Parameters.firstLayerWeightCount(gradient.spec());
    }

    /** The transposed parts of both as one compact set of rows, kept in {@code this}. */
    private void mergeTransposed(GradientSum other) {
        compact();
        other.compact();
        if (other.compactFeatures == null) {
            return;
        }
        if (compactFeatures == null) {
            compactFeatures = other.compactFeatures.clone();
            compactRows = other.compactRows.clone();
            return;
        }
        addCompact(other.compactFeatures, other.compactRows);
    }

    /**
     * {@code this}'s compact rows {@code +=} the rows {@code rb} of features {@code fb} (ascending), over the union
     * of the features: rows of one side are copied, rows of both added ({@code a + b}, as the dense merge).
     */
    private void addCompact(int[] fb, double[] rb) {
        int h = gradient.spec().width(0);
        int[] fa = compactFeatures;
        double[] ra = compactRows;
        // the union's size first, so that the merged rows are made once at their size (a wide layer's touched rows
        // are tens of MB a task)
        int union = 0;
        for (int i = 0, j = 0; i < fa.length || j < fb.length; union++) {
            if (j == fb.length || (i < fa.length && fa[i] < fb[j])) {
                i++;
            } else if (i == fa.length || fb[j] < fa[i]) {
                j++;
            } else {
                i++;
                j++;
            }
        }
        int[] features = new int[union];
        double[] rows = new double[union * h];
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < fa.length || j < fb.length) {
            if (j == fb.length || (i < fa.length && fa[i] < fb[j])) {
                features[k] = fa[i];
                System.arraycopy(ra, i++ * h, rows, k++ * h, h);
            } else if (i == fa.length || fb[j] < fa[i]) {
                features[k] = fb[j];
                System.arraycopy(rb, j++ * h, rows, k++ * h, h);
            } else {
                features[k] = fa[i];
                int at = k++ * h;
                int ai = i++ * h;
                int bj = j++ * h;
                for (int u = 0; u < h; u++) {
                    rows[at + u] = ra[ai + u] + rb[bj + u];
                }
            }
        }
        compactFeatures = features;
        compactRows = rows;
    }

    /**
     * Moves the pending rows into the compact form (adding them to compact rows already there), leaving none
     * pending.
     */
    private void compact() {
        if (!pending) {
            return;
        }
        pending = false;
        double[][] t = pendingRows;
        int h = gradient.spec().width(0);
        int[] features = pendingFeatures();
        double[] rows = new double[features.length * h];
        for (int k = 0; k < features.length; k++) {
            System.arraycopy(t[features[k]], 0, rows, k * h, h);
            t[features[k]] = null;
        }
        if (compactFeatures == null) {
            compactFeatures = features;
            compactRows = rows;
        } else {
            addCompact(features, rows);
        }
    }

    /** The features of the pending rows, ascending. */
    private int[] pendingFeatures() {
        double[][] t = pendingRows;
        int count = 0;
        for (double[] row : t) {
            count += row != null ? 1 : 0;
        }
        int[] features = new int[count];
        for (int f = 0, k = 0; f < t.length; f++) {
            if (t[f] != null) {
                features[k++] = f;
            }
        }
        return features;
    }

    /** Adds every transposed part (pending and compact) into {@code ∇W_0}. */
    private void flushTransposed() {
        NetworkSpec spec = gradient.spec();
        int n = spec.inputSize();
        int h = spec.width(0);
        double[] g = gradient.values();
        int off = gradient.weightOffset(0);
        // pending rows join the compact ones, which are added a chunk of features at a time: the chunk's rows
        // stay in cache while each row of W_0 takes its values
        compact();
        if (compactFeatures != null) {
            int[] features = compactFeatures;
            double[] rows = compactRows;
            for (int k0 = 0; k0 < features.length; k0 += FLUSH_CHUNK) {
                int k1 = Math.min(features.length, k0 + FLUSH_CHUNK);
                for (int i = 0; i < h; i++) {
                    int row = off + i * n;
                    for (int k = k0; k < k1; k++) {
                        g[row + features[k]] += rows[k * h + i];
                    }
                }
            }
            compactFeatures = null;
            compactRows = null;
        }
    }

    /**
     * The exchanged form: the network, the totals, then either the whole gradient dense, or — when its
     * {@code ∇W_0} is transposed rows alone — the touched rows and the rest of the gradient.
     */
    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeObject(gradient.spec());
        out.writeBoolean(rowsOnly);
        if (firstLayerDense) {
            flushTransposed();
            out.writeBoolean(false);
            DoubleArrays.write(out, gradient.values());
            return;
        }
        out.writeBoolean(true);
        if (pending && compactFeatures == null) {
            // a task's own sum: its rows go out as they are, with no compact copy of them made first
            int[] features = pendingFeatures();
            out.writeObject(features);
            DoubleArrays.writeRows(out, pendingRows, features, gradient.spec().width(0));
        } else {
            compact();
            out.writeObject(compactFeatures == null ? new int[0] : compactFeatures);
            DoubleArrays.write(out, compactRows == null ? new double[0] : compactRows);
        }
        DoubleArrays.write(out, Arrays.copyOfRange(gradient.values(), firstLayerWeights(), gradient.size()));
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        NetworkSpec spec = (NetworkSpec) in.readObject();
        rowsOnly = in.readBoolean();
        gradient = rowsOnly ? Parameters.withoutFirstLayerWeights(spec) : Parameters.zeros(spec);
        if (!in.readBoolean()) {
            double[] values = DoubleArrays.read(in);
            System.arraycopy(values, 0, gradient.values(), 0, values.length);
            firstLayerDense = true;
            return;
        }
        int[] features = (int[]) in.readObject();
        double[] rows = DoubleArrays.read(in);
        double[] rest = DoubleArrays.read(in);
        System.arraycopy(rest, 0, gradient.values(), firstLayerWeights(), rest.length);
        if (features.length > 0) {
            compactFeatures = features;
            compactRows = rows;
        }
    }
}
