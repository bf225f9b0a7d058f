package io.sparkprop.nn;

import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.DenseVector;

/**
 * Weights {@code W_l ∈ R^{n_l × n_{l-1}}} (row-major arrays) and biases {@code b_l ∈ R^{n_l}} of every
 * layer of a {@link NetworkSpec}. The same layout holds gradients and optimiser state. Users read them
 * as Spark matrices and vectors ({@link #weights}, {@link #biases}); the numeric core works on the live
 * arrays ({@link #weightValues}, {@link #biasValues}).
 *
 * <p>The flat layout, used for broadcast, aggregation and saving, is layer after layer:
 * {@code W_l} row-major, then {@code b_l}; its length is {@link NetworkSpec#parameterCount()}.
 *
 * <p>Methods named {@code …InPlace} modify {@code this}; none allocate.
 */
public final class Parameters implements Serializable {
    private static final long serialVersionUID = 1L;

    private final NetworkSpec spec;
    /** {@code W_l} row-major: entry {@code (i, j)} at {@code i · n_{l-1} + j}. */
    private final double[][] weights;
    private final double[][] biases;

    private Parameters(NetworkSpec spec) {
        this.spec = spec;
        int layers = spec.numLayers();
        this.weights = new double[layers][];
        this.biases = new double[layers][];
        for (int l = 0; l < layers; l++) {
            weights[l] = new double[spec.width(l) * spec.fanIn(l)];
            biases[l] = new double[spec.width(l)];
        }
    }

    /** All weights and biases zero (e.g. a gradient accumulator). */
    public static Parameters zeros(NetworkSpec spec) {
        return new Parameters(spec);
    }

    /**
     * Seeded initialisation; biases are zero. A layer with ReLU activation draws its weights from
     * He uniform {@code U(−r, r)}, {@code r = √(6 / n_{l-1})}; every other layer from Glorot uniform,
     * {@code r = √(6 / (n_{l-1} + n_l))}. The same seed gives the same weights on any JVM
     * ({@link SplittableRandom}'s sequence is specified).
     */
    public static Parameters initialise(NetworkSpec spec, long seed) {
        Parameters p = new Parameters(spec);
        SplittableRandom random = new SplittableRandom(seed);
        for (int l = 0; l < spec.numLayers(); l++) {
            int fanIn = spec.fanIn(l);
            int fanOut = spec.width(l);
            double r = spec.activation(l).usesHeInitialisation()
                    ? Math.sqrt(6.0 / fanIn)
                    : Math.sqrt(6.0 / (fanIn + fanOut));
            double[] w = p.weights[l];
            for (int i = 0; i < w.length; i++) {
                w[i] = r * (2.0 * random.nextDouble() - 1.0);
            }
        }
        return p;
    }

    /**
     * Parameters read from the flat layout.
     *
     * @throws IllegalArgumentException if {@code flat} does not have exactly {@link NetworkSpec#parameterCount()} values
     */
    public static Parameters fromFlat(NetworkSpec spec, double[] flat) {
        if (flat.length != spec.parameterCount()) {
            throw new IllegalArgumentException("expected " + spec.parameterCount() + " parameters for network "
                    + spec + ", found " + flat.length);
        }
        Parameters p = new Parameters(spec);
        p.copyFromFlat(flat, 0);
        return p;
    }

    /** The network these parameters belong to. */
    public NetworkSpec spec() {
        return spec;
    }

    /**
     * {@code W_l} ({@code n_l × n_{l-1}}) as a Spark matrix that shares these parameters' values (Spark
     * offers no way to change it; {@link #weightValues} does).
     */
    public DenseMatrix weights(int layer) {
        return new DenseMatrix(spec.width(layer), spec.fanIn(layer), weights[layer], true);
    }

    /** {@code b_l} as a Spark vector that shares these parameters' values. */
    public DenseVector biases(int layer) {
        return new DenseVector(biases[layer]);
    }

    /**
     * {@code W_l}'s values, live and row-major: entry {@code (i, j)} at {@code i · n_{l-1} + j}; changes
     * to the array change these parameters.
     */
    public double[] weightValues(int layer) {
        return weights[layer];
    }

    /** {@code b_l}'s values, live. */
    public double[] biasValues(int layer) {
        return biases[layer];
    }

    /** Number of values in the flat layout. */
    public int size() {
        return (int) spec.parameterCount();
    }

    /** A new flat array with these parameters. */
    public double[] toFlat() {
        double[] flat = new double[size()];
        copyToFlat(flat, 0);
        return flat;
    }

    /** Writes the flat layout into {@code flat} (modified) from {@code offset}; returns the offset after it. */
    public int copyToFlat(double[] flat, int offset) {
        int pos = offset;
        for (int l = 0; l < weights.length; l++) {
            double[] w = weights[l];
            int nw = w.length;
            System.arraycopy(w, 0, flat, pos, nw);
            pos += nw;
            System.arraycopy(biases[l], 0, flat, pos, biases[l].length);
            pos += biases[l].length;
        }
        return pos;
    }

    /** Reads the flat layout from {@code flat} starting at {@code offset}; returns the offset after it. */
    public int copyFromFlat(double[] flat, int offset) {
        if (flat.length - offset < size()) {
            throw new IllegalArgumentException("expected " + size() + " parameters from offset " + offset
                    + ", found " + (flat.length - offset));
        }
        int pos = offset;
        for (int l = 0; l < weights.length; l++) {
            int nw = weights[l].length;
            System.arraycopy(flat, pos, weights[l], 0, nw);
            pos += nw;
            System.arraycopy(flat, pos, biases[l], 0, biases[l].length);
            pos += biases[l].length;
        }
        return pos;
    }

    /** A deep copy. */
    public Parameters copy() {
        Parameters p = new Parameters(spec);
        p.copyFromInPlace(this);
        return p;
    }

    /** {@code this ← other}. */
    public void copyFromInPlace(Parameters other) {
        checkSameShape(other);
        for (int l = 0; l < weights.length; l++) {
            System.arraycopy(other.weights[l], 0, weights[l], 0, weights[l].length);
            System.arraycopy(other.biases[l], 0, biases[l], 0, biases[l].length);
        }
    }

    /** {@code this ← 0}. */
    public void setZeroInPlace() {
        for (int l = 0; l < weights.length; l++) {
            Arrays.fill(weights[l], 0.0);
            Arrays.fill(biases[l], 0.0);
        }
    }

    /** {@code this ← this + alpha · x}, weights and biases. */
    public void axpyInPlace(double alpha, Parameters x) {
        checkSameShape(x);
        for (int l = 0; l < weights.length; l++) {
            axpy(alpha, x.weights[l], weights[l], weights[l].length);
            axpy(alpha, x.biases[l], biases[l], biases[l].length);
        }
    }

    /**
     * {@code W_l ← W_l + alpha · x.W_l} for every layer, biases untouched: the ridge term
     * {@code g + λW} of the gradient of {@code (λ/2) Σ_l ‖W_l‖_F²} (biases are not penalised).
     */
    public void axpyWeightsInPlace(double alpha, Parameters x) {
        checkSameShape(x);
        for (int l = 0; l < weights.length; l++) {
            axpy(alpha, x.weights[l], weights[l], weights[l].length);
        }
    }

    /** {@code this ← s · this}. */
    public void scaleInPlace(double s) {
        for (int l = 0; l < weights.length; l++) {
            scale(s, weights[l], weights[l].length);
            scale(s, biases[l], biases[l].length);
        }
    }

    /** {@code Σ_l ‖W_l‖_F²}, biases excluded (the ridge penalty is {@code λ/2} times this). */
    public double weightNormSquared() {
        double sum = 0;
        for (double[] w : weights) {
            for (double v : w) {
                sum += v * v;
            }
        }
        return sum;
    }

    /** Whether every weight and bias is finite (no NaN or infinity). */
    public boolean isFinite() {
        for (int l = 0; l < weights.length; l++) {
            if (!allFinite(weights[l], weights[l].length) || !allFinite(biases[l], biases[l].length)) {
                return false;
            }
        }
        return true;
    }

    /** Largest absolute difference to {@code other} over all weights and biases. */
    public double maxAbsDifference(Parameters other) {
        checkSameShape(other);
        double max = 0;
        for (int l = 0; l < weights.length; l++) {
            for (int i = 0; i < weights[l].length; i++) {
                max = Math.max(max, Math.abs(weights[l][i] - other.weights[l][i]));
            }
            for (int i = 0; i < biases[l].length; i++) {
                max = Math.max(max, Math.abs(biases[l][i] - other.biases[l][i]));
            }
        }
        return max;
    }

    /**
     * @throws IllegalArgumentException if {@code other} belongs to a network of other layer sizes
     */
    public void checkSameShape(Parameters other) {
        if (other.spec != spec && !java.util.Arrays.equals(other.spec.layerSizes(), spec.layerSizes())) {
            throw new IllegalArgumentException("expected parameters of layer sizes "
                    + Arrays.toString(spec.layerSizes()) + ", found " + Arrays.toString(other.spec.layerSizes()));
        }
    }

    private static void axpy(double alpha, double[] x, double[] y, int n) {
        for (int i = 0; i < n; i++) {
            y[i] += alpha * x[i];
        }
    }

    private static void scale(double s, double[] x, int n) {
        for (int i = 0; i < n; i++) {
            x[i] *= s;
        }
    }

    private static boolean allFinite(double[] x, int n) {
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(x[i])) {
                return false;
            }
        }
        return true;
    }
}
