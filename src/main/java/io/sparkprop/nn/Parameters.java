package io.sparkprop.nn;

import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkprop.util.DoubleArrays;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.DenseVector;

/**
 * Weights {@code W_l ∈ R^{n_l × n_{l-1}}} and biases {@code b_l ∈ R^{n_l}} of every layer of a
 * {@link NetworkSpec}, in one flat array: layer after layer, {@code W_l} row-major, then {@code b_l}
 * (entry {@code (i, j)} of {@code W_l} at {@link #weightOffset weightOffset(l)}{@code + i·n_{l-1} + j}). The
 * same layout holds gradients and optimiser state, and it is what is broadcast, merged, updated and saved:
 * nothing is copied between a per-layer and a flat form. Users read layers as Spark matrices and vectors
 * ({@link #weights}, {@link #biases}); the numeric core works on the live array ({@link #values}) at the
 * layers' offsets. Its length is {@link NetworkSpec#parameterCount()} — or that less {@code n_0·n_1} for
 * parameters {@link #withoutFirstLayerWeights(NetworkSpec) without the first layer's weights}, which a wide sparse
 * first layer keeps as rows per feature ({@code W_0ᵀ}) while it trains.
 *
 * <p>Methods named {@code …InPlace} modify {@code this}; none allocate.
 */
@DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
public final class Parameters implements Serializable {
    private static final long serialVersionUID = 1L;

    private final NetworkSpec spec;
    private final double[] values;
    /** Where {@code W_l} starts in {@link #values}; {@code b_l} follows it. */
    private final int[] weightOffsets;
    /**
     * Whether {@code W_0} lives elsewhere ({@link #withoutFirstLayerWeights}): {@link #values} then starts at
     * {@code b_0}, and {@code W_0}'s offset is negative.
     */
    private final boolean firstLayerElsewhere;

    private Parameters(NetworkSpec spec, double[] values) {
        this(spec, values, false);
    }

    private Parameters(NetworkSpec spec, double[] values, boolean firstLayerElsewhere) {
        this.spec = spec;
        this.values = values;
        this.firstLayerElsewhere = firstLayerElsewhere;
        int layers = spec.numLayers();
        this.weightOffsets = new int[layers];
        int offset = firstLayerElsewhere ? -spec.width(0) * spec.fanIn(0) : 0;
        for (int l = 0; l < layers; l++) {
            weightOffsets[l] = offset;
            offset += spec.width(l) * spec.fanIn(l) + spec.width(l);
        }
    }

    /**
     * Java serialisation (broadcasts, task results, the task binary) writes a {@link Form}: the values as raw bytes
     * ({@link DoubleArrays}; written and read in about half the time of {@code ObjectOutputStream}'s own
     * {@code double[]}: 1.0 against 1.8 ms for 235k values, 110 against 200 ms for 25M, measured in one JVM). It is
     * never a saved model's format: {@code ModelIO} writes those.
     */
    private Object writeReplace() {
        return new Form(spec, values, firstLayerElsewhere);
    }

    private void readObject(ObjectInputStream in) throws InvalidObjectException {
        throw new InvalidObjectException("Parameters are read through their serial form");
    }

    /** The serial form of {@link Parameters}: the network, whether {@code W_0} lives elsewhere, the values. */
    private static final class Form implements Serializable {
        private static final long serialVersionUID = 1L;

        private NetworkSpec spec;
        private transient double[] values;
        private boolean firstLayerElsewhere;

        Form(NetworkSpec spec, double[] values, boolean firstLayerElsewhere) {
            this.spec = spec;
            this.values = values;
            this.firstLayerElsewhere = firstLayerElsewhere;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            DoubleArrays.write(out, values);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            values = DoubleArrays.read(in);
        }

        private Object readResolve() throws InvalidObjectException {
            long expected = spec.parameterCount() - (firstLayerElsewhere ? (long) spec.width(0) * spec.fanIn(0) : 0);
            if (values.length != expected) {
                throw new InvalidObjectException("expected " + expected + " values for network " + spec + ", found "
                        + values.length);
            }
            return new Parameters(spec, values, firstLayerElsewhere);
        }
    }

    /**
     * The parameters of {@code spec} without the first layer's weights {@code W_0}, all zero: the flat layout from
     * {@code b_0} on, at the same offsets less {@code n_0·n_1} ({@link #weightOffset weightOffset(0)} is negative).
     * A wide sparse first layer keeps {@code W_0} as rows per feature instead, and every other value here; what
     * works on all values ({@link #scaleInPlace}, {@link #isFinite}, …) works on these alone.
     */
    public static Parameters withoutFirstLayerWeights(NetworkSpec spec) {
        return new Parameters(spec, new double[checkedCount(spec) - firstLayerWeightCount(spec)], true);
    }

    /** These parameters without {@code W_0} (a copy): see {@link #withoutFirstLayerWeights(NetworkSpec)}. */
    public Parameters withoutFirstLayerWeights() {
        int from = firstLayerElsewhere ? 0 : firstLayerWeightCount(spec);
        return new Parameters(spec, Arrays.copyOfRange(values, from, values.length), true);
    }

    /** {@code n_0·n_1}, the values of {@code W_0}. */
    public static int firstLayerWeightCount(NetworkSpec spec) {
        return spec.width(0) * spec.fanIn(0);
    }

    /** Whether {@code W_0} is held here (false for {@link #withoutFirstLayerWeights(NetworkSpec)}). */
    public boolean holdsFirstLayerWeights() {
        return !firstLayerElsewhere;
    }

    /** All weights and biases zero (e.g. a gradient accumulator). */
    public static Parameters zeros(NetworkSpec spec) {
        return new Parameters(spec, new double[checkedCount(spec)]);
    }

    /**
     * Seeded initialisation; biases are zero. A layer with ReLU activation draws its weights from
     * He uniform {@code U(−r, r)}, {@code r = √(6 / n_{l-1})}; every other layer from Glorot uniform,
     * {@code r = √(6 / (n_{l-1} + n_l))}. The same seed gives the same weights on any JVM
     * ({@link SplittableRandom}'s sequence is specified).
     */
    public static Parameters initialise(NetworkSpec spec, long seed) {
        Parameters p = zeros(spec);
        SplittableRandom random = new SplittableRandom(seed);
        for (int l = 0; l < spec.numLayers(); l++) {
            int fanIn = spec.fanIn(l);
            int fanOut = spec.width(l);
            double r = spec.activation(l).usesHeInitialisation()
                    ? Math.sqrt(6.0 / fanIn)
                    : Math.sqrt(6.0 / (fanIn + fanOut));
            int from = p.weightOffsets[l];
            int to = from + fanOut * fanIn;
            for (int i = from; i < to; i++) {
                p.values[i] = r * (2.0 * random.nextDouble() - 1.0);
            }
        }
        return p;
    }

    /**
     * Parameters read from the flat layout (a copy of {@code flat}).
     *
     * @throws IllegalArgumentException if {@code flat} does not have exactly {@link NetworkSpec#parameterCount()} values
     */
    public static Parameters fromFlat(NetworkSpec spec, double[] flat) {
        if (flat.length != spec.parameterCount()) {
            throw new IllegalArgumentException("expected " + spec.parameterCount() + " parameters for network "
                    + spec + ", found " + flat.length);
        }
        return new Parameters(spec, flat.clone());
    }

    private static int checkedCount(NetworkSpec spec) {
        long count = spec.parameterCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the network " + spec + " has " + count
                    + " parameters, more than one array can hold");
        }
        return (int) count;
    }

    /** The network these parameters belong to. */
    public NetworkSpec spec() {
        return spec;
    }

    /** {@code W_l} ({@code n_l × n_{l-1}}) as a Spark matrix (a copy). */
    public DenseMatrix weights(int layer) {
        checkHeld(layer);
        int from = weightOffsets[layer];
        return new DenseMatrix(spec.width(layer), spec.fanIn(layer),
                Arrays.copyOfRange(values, from, from + spec.width(layer) * spec.fanIn(layer)), true);
    }

    /** {@code b_l} as a Spark vector (a copy). */
    public DenseVector biases(int layer) {
        int from = biasOffset(layer);
        return new DenseVector(Arrays.copyOfRange(values, from, from + spec.width(layer)));
    }

    /** Every value in the flat layout, live: changes to the array change these parameters. */
    public double[] values() {
        return values;
    }

    /** Where {@code W_l} (row-major, {@code n_l × n_{l-1}}) starts in {@link #values()}. */
    public int weightOffset(int layer) {
        return weightOffsets[layer];
    }

    /** Where {@code b_l} starts in {@link #values()}. */
    public int biasOffset(int layer) {
        return weightOffsets[layer] + spec.width(layer) * spec.fanIn(layer);
    }

    /** Number of values in the flat layout. */
    public int size() {
        return values.length;
    }

    /** A new flat array with these parameters. */
    public double[] toFlat() {
        return values.clone();
    }

    /** Writes the flat layout into {@code flat} (modified) from {@code offset}; returns the offset after it. */
    public int copyToFlat(double[] flat, int offset) {
        System.arraycopy(values, 0, flat, offset, values.length);
        return offset + values.length;
    }

    /** Reads the flat layout from {@code flat} starting at {@code offset}; returns the offset after it. */
    public int copyFromFlat(double[] flat, int offset) {
        if (flat.length - offset < size()) {
            throw new IllegalArgumentException("expected " + size() + " parameters from offset " + offset
                    + ", found " + (flat.length - offset));
        }
        System.arraycopy(flat, offset, values, 0, values.length);
        return offset + values.length;
    }

    /**
     * Writes these parameters rounded to float (to nearest) into {@code floats} (modified), in the flat layout:
     * what a float32 kernel multiplies with and a float32 fit ships.
     *
     * @throws IllegalArgumentException if {@code floats} is not of {@link #size()}
     */
    public void copyToFloats(float[] floats) {
        if (floats.length != values.length) {
            throw new IllegalArgumentException("expected " + values.length + " floats, found " + floats.length);
        }
        for (int i = 0; i < values.length; i++) {
            floats[i] = (float) values[i];
        }
    }

    /**
     * Parameters of {@code spec} from float values in the flat layout (widened to double, which is exact).
     *
     * @throws IllegalArgumentException if {@code floats} does not have exactly {@link NetworkSpec#parameterCount()} values
     */
    public static Parameters fromFloats(NetworkSpec spec, float[] floats) {
        if (floats.length != spec.parameterCount()) {
            throw new IllegalArgumentException("expected " + spec.parameterCount() + " parameters for network "
                    + spec + ", found " + floats.length);
        }
        double[] v = new double[floats.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = floats[i];
        }
        return new Parameters(spec, v);
    }

    /** A deep copy. */
    public Parameters copy() {
        return new Parameters(spec, values.clone(), firstLayerElsewhere);
    }

    /** {@code this ← other}. */
    public void copyFromInPlace(Parameters other) {
        checkSameShape(other);
        System.arraycopy(other.values, 0, values, 0, values.length);
    }

    /** {@code this ← 0}. */
    public void setZeroInPlace() {
        Arrays.fill(values, 0.0);
    }

    /** {@code this ← this + alpha · x}, weights and biases. */
    public void axpyInPlace(double alpha, Parameters x) {
        checkSameShape(x);
        double[] xv = x.values;
        for (int i = 0; i < values.length; i++) {
            values[i] += alpha * xv[i];
        }
    }

    /**
     * {@code W_l ← W_l + alpha · x.W_l} for every layer, biases untouched: the ridge term
     * {@code g + λW} of the gradient of {@code (λ/2) Σ_l ‖W_l‖_F²} (biases are not penalised).
     */
    public void axpyWeightsInPlace(double alpha, Parameters x) {
        checkSameShape(x);
        double[] xv = x.values;
        for (int l = firstLayerElsewhere ? 1 : 0; l < weightOffsets.length; l++) {
            for (int i = weightOffsets[l], end = biasOffset(l); i < end; i++) {
                values[i] += alpha * xv[i];
            }
        }
    }

    /** {@code this ← s · this}. */
    public void scaleInPlace(double s) {
        for (int i = 0; i < values.length; i++) {
            values[i] *= s;
        }
    }

    /**
     * {@code Σ_l ‖W_l‖_F²}, biases excluded (the ridge penalty is {@code λ/2} times this); without {@code W_0}
     * ({@link #withoutFirstLayerWeights(NetworkSpec)}), of the layers held.
     */
    public double weightNormSquared() {
        double sum = 0;
        for (int l = firstLayerElsewhere ? 1 : 0; l < weightOffsets.length; l++) {
            for (int i = weightOffsets[l], end = biasOffset(l); i < end; i++) {
                sum += values[i] * values[i];
            }
        }
        return sum;
    }

    /** Whether every weight and bias is finite (no NaN or infinity). */
    public boolean isFinite() {
        for (double v : values) {
            if (!Double.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** Largest absolute difference to {@code other} over all weights and biases. */
    public double maxAbsDifference(Parameters other) {
        checkSameShape(other);
        double max = 0;
        for (int i = 0; i < values.length; i++) {
            max = Math.max(max, Math.abs(values[i] - other.values[i]));
        }
        return max;
    }

    /**
     * @throws IllegalArgumentException if {@code other} belongs to a network of other layer sizes
     */
    public void checkSameShape(Parameters other) {
        if (other.spec != spec && !Arrays.equals(other.spec.layerSizes(), spec.layerSizes())) {
            throw new IllegalArgumentException("expected parameters of layer sizes "
                    + Arrays.toString(spec.layerSizes()) + ", found " + Arrays.toString(other.spec.layerSizes()));
        }
        if (other.firstLayerElsewhere != firstLayerElsewhere) {
            throw new IllegalArgumentException("expected parameters " + (firstLayerElsewhere ? "without" : "with")
                    + " the first layer's weights, found them " + (other.firstLayerElsewhere ? "without" : "with"));
        }
    }

    private void checkHeld(int layer) {
        if (layer == 0 && firstLayerElsewhere) {
            throw new IllegalStateException("these parameters do not hold the first layer's weights (kept as rows "
                    + "per feature elsewhere)");
        }
    }
}
