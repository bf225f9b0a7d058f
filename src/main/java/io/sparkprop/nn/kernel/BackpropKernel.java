package io.sparkprop.nn.kernel;

import java.util.Arrays;

import io.sparkprop.linalg.Gemm;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.ejml.data.DMatrixRMaj;

/**
 * Forward and backward pass of a {@link NetworkSpec} over a block of {@code B} examples stored as
 * columns: {@code X ∈ R^{n_0×B}}, {@code Y ∈ R^{m×B}}, optional per-example weights {@code w}.
 *
 * <p>Forward, layer by layer: {@code Z_l = W_l A_{l-1} + b_l 1ᵀ} (one GEMM), {@code A_l = f_l(Z_l)},
 * {@code A_{-1} = X}. The cost of the block is {@code Σ_j w_j C(a_L^{(j)}, y^{(j)})}.
 *
 * <p>Backward: the output delta {@code Δ_L} of the {@link Loss} with column {@code j} scaled by
 * {@code w_j}, then {@code Δ_{l-1} = f'_{l-1}(Z_{l-1}) ∘ (W_lᵀ Δ_l)} (one GEMM). The gradients are the
 * sums of the per-example outer products {@code δ_l a_{l-1}ᵀ}, formed by one GEMM per layer and
 * <em>added</em> into the accumulator: {@code ∇W_l += Δ_l A_{l-1}ᵀ}, {@code ∇b_l += Δ_l 1}. No
 * Jacobian tensor is built.
 *
 * <p>Every derivative is computed from the activation's output ({@link Activation}), so a layer keeps
 * one {@code n_l×B} matrix for {@code Z_l} and then {@code A_l} in place, and one for {@code Δ_l}.
 * These live in this object's workspace: after the widest block seen so far nothing is allocated.
 * An instance is therefore not thread-safe; use one per task or thread.
 */
public final class BackpropKernel {
    private final NetworkSpec spec;
    private final Gemm gemm;
    private final int layers;
    /** {@code Z_l}, then {@code A_l} in place; {@code n_l × B}. */
    private final DMatrixRMaj[] activations;
    /** {@code Δ_l}; {@code n_l × B}. */
    private final DMatrixRMaj[] deltas;
    /** Per-column scratch of the output layer (softmax max, log-sum-exp, target sums); length ≥ B. */
    private double[] columnA = new double[0];
    private double[] columnB = new double[0];
    private double[] ones = new double[0];

    /** A kernel for {@code spec} whose multiplications go through {@code gemm}. */
    public BackpropKernel(NetworkSpec spec, Gemm gemm) {
        this.spec = spec;
        this.gemm = gemm;
        this.layers = spec.numLayers();
        this.activations = new DMatrixRMaj[layers];
        this.deltas = new DMatrixRMaj[layers];
        for (int l = 0; l < layers; l++) {
            activations[l] = new DMatrixRMaj(spec.width(l), 0);
            deltas[l] = new DMatrixRMaj(spec.width(l), 0);
        }
    }

    /** The network this kernel computes. */
    public NetworkSpec spec() {
        return spec;
    }

    /** The GEMM backend in use. */
    public Gemm gemm() {
        return gemm;
    }

    /**
     * Forward and backward pass over one block: adds {@code Σ_j w_j ∇C_j} into {@code sum}'s gradient
     * and the block's weighted loss, weight sum and example count into its totals.
     *
     * @param params  the network's parameters (read only)
     * @param x       inputs, {@code n_0 × B}, one example per column
     * @param y       targets, {@code m × B}
     * @param weights per-example weights, length ≥ {@code B}, or {@code null} for weight 1
     * @param sum     the accumulator (modified)
     * @return the block's weighted loss sum {@code Σ_j w_j C_j}
     * @throws IllegalArgumentException if a shape does not match the network
     */
    public double lossAndGradient(Parameters params, DMatrixRMaj x, DMatrixRMaj y, double[] weights,
                                  GradientSum sum) {
        int b = checkBlock(params, x, y, weights);
        sum.gradient().checkSameShape(params);
        if (b == 0) {
            return 0.0;
        }
        double[] w = weightsOrOnes(weights, b);
        forward(params, x, b, false);
        double loss = outputLossAndDelta(y, w, b);
        backward(params, x, b, sum.gradient());
        sum.addTotalsInPlace(loss, weightTotal(w, b), b);
        return loss;
    }

    /**
     * Forward pass only: the block's weighted loss sum {@code Σ_j w_j C_j} (e.g. for validation).
     *
     * @param weights per-example weights, length ≥ {@code B}, or {@code null} for weight 1
     */
    public double loss(Parameters params, DMatrixRMaj x, DMatrixRMaj y, double[] weights) {
        int b = checkBlock(params, x, y, weights);
        if (b == 0) {
            return 0.0;
        }
        forward(params, x, b, false);
        return outputLossAndDelta(y, weightsOrOnes(weights, b), b);
    }

    /**
     * Forward pass only, for evaluation: the block's weighted loss sum {@code Σ_j w_j C_j}, and into
     * {@code correctWeight[0]} (modified) the weight of the examples whose largest output is where their
     * target is largest (classification accuracy for one-hot targets) — with one output, whose output and
     * target lie on the same side of 0.5 (a binary classifier's accuracy). Meaningful for classifiers only.
     *
     * @param weights per-example weights, length ≥ {@code B}, or {@code null} for weight 1
     */
    public double evaluate(Parameters params, DMatrixRMaj x, DMatrixRMaj y, double[] weights, double[] correctWeight) {
        int b = checkBlock(params, x, y, weights);
        if (b == 0) {
            return 0.0;
        }
        double[] w = weightsOrOnes(weights, b);
        forward(params, x, b, false);
        double loss = outputLossAndDelta(y, w, b);
        DMatrixRMaj a = activations[layers - 1];
        int m = a.numRows;
        if (m == 1) {
            // one output: the argmax of one value would always match; a binary classifier's output
            // (a probability) is right when it falls on the same side of 0.5 as its 0/1 target
            for (int j = 0; j < b; j++) {
                if ((a.data[j] >= 0.5) == (y.data[j] >= 0.5)) {
                    correctWeight[0] += w[j];
                }
            }
            return loss;
        }
        for (int j = 0; j < b; j++) {
            int best = 0;
            int target = 0;
            for (int k = 1; k < m; k++) {
                if (a.data[k * b + j] > a.data[best * b + j]) {
                    best = k;
                }
                if (y.data[k * b + j] > y.data[target * b + j]) {
                    target = k;
                }
            }
            if (best == target) {
                correctWeight[0] += w[j];
            }
        }
        return loss;
    }

    /**
     * Forward pass only: writes the network's outputs {@code a_L} ({@code m × B}; softmax probabilities
     * for a softmax output) into {@code out}, which is reshaped (modified).
     */
    public void predict(Parameters params, DMatrixRMaj x, DMatrixRMaj out) {
        checkInput(params, x);
        int b = x.numCols;
        out.reshape(spec.outputSize(), b);
        if (b == 0) {
            return;
        }
        forward(params, x, b, true);
        System.arraycopy(activations[layers - 1].data, 0, out.data, 0, out.getNumElements());
    }

    /**
     * Forward pass only: writes the output layer's pre-activations {@code z_L} ({@code m × B}; the
     * logits of a softmax or sigmoid output) into {@code out}, which is reshaped (modified).
     */
    public void predictRaw(Parameters params, DMatrixRMaj x, DMatrixRMaj out) {
        checkInput(params, x);
        int b = x.numCols;
        out.reshape(spec.outputSize(), b);
        if (b == 0) {
            return;
        }
        forward(params, x, b, false);
        System.arraycopy(activations[layers - 1].data, 0, out.data, 0, out.getNumElements());
    }

    /**
     * {@code Z_l = W_l A_{l-1} + b_l 1ᵀ}, {@code A_l = f_l(Z_l)} for every layer; the output layer's
     * activation is applied only when {@code activateOutput}, else it is left as {@code Z_L} for the
     * fused loss.
     */
    private void forward(Parameters params, DMatrixRMaj x, int b, boolean activateOutput) {
        DMatrixRMaj input = x;
        for (int l = 0; l < layers; l++) {
            DMatrixRMaj z = activations[l];
            z.reshape(spec.width(l), b);
            gemm.gemm(false, false, 1.0, params.values(), params.weightOffset(l), spec.width(l), spec.fanIn(l), input,
                    0.0, z);
            boolean output = l == layers - 1;
            Activation f = output && !activateOutput ? Activation.IDENTITY : spec.activation(l);
            Activations.addBiasAndApply(f, z, params.values(), params.biasOffset(l), columnScratch(b),
                    columnScratchB(b));
            input = z;
        }
    }

    /** Output delta and loss from {@code Z_L}; leaves {@code A_L} in place of {@code Z_L}. */
    private double outputLossAndDelta(DMatrixRMaj y, double[] w, int b) {
        DMatrixRMaj z = activations[layers - 1];
        DMatrixRMaj delta = deltas[layers - 1];
        delta.reshape(z.numRows, b);
        Activation out = spec.outputActivation();
        switch (spec.loss()) {
            case SOFTMAX_CROSS_ENTROPY:
                return Losses.softmaxCrossEntropy(z, y, w, delta, columnScratch(b), columnScratchB(b));
            case SIGMOID_CROSS_ENTROPY:
                return Losses.sigmoidCrossEntropy(z, y, w, delta);
            case HALF_SQUARED_ERROR:
                Activations.addBiasAndApply(out, z, null, 0, columnScratch(b), columnScratchB(b));
                return Losses.halfSquaredError(out, z, y, w, delta);
            default:
                throw new IllegalStateException("unhandled loss " + spec.loss());
        }
    }

    /** {@code ∇W_l += Δ_l A_{l-1}ᵀ}, {@code ∇b_l += Δ_l 1}, {@code Δ_{l-1} = f'_{l-1} ∘ (W_lᵀ Δ_l)}. */
    private void backward(Parameters params, DMatrixRMaj x, int b, Parameters gradient) {
        for (int l = layers - 1; l >= 0; l--) {
            DMatrixRMaj delta = deltas[l];
            DMatrixRMaj previous = l == 0 ? x : activations[l - 1];
            gemm.gemm(false, true, 1.0, delta, previous, 1.0, gradient.values(), gradient.weightOffset(l),
                    spec.width(l), spec.fanIn(l));
            addRowSums(delta, gradient.values(), gradient.biasOffset(l));
            if (l > 0) {
                DMatrixRMaj below = deltas[l - 1];
                below.reshape(spec.width(l - 1), b);
                gemm.gemm(true, false, 1.0, params.values(), params.weightOffset(l), spec.width(l), spec.fanIn(l),
                        delta, 0.0, below);
                Activations.multiplyByDerivative(spec.activation(l - 1), activations[l - 1], below);
            }
        }
    }

    /** {@code out[offset + i] += Σ_j m(i, j)}. */
    private static void addRowSums(DMatrixRMaj m, double[] out, int offset) {
        int cols = m.numCols;
        double[] d = m.data;
        for (int i = 0; i < m.numRows; i++) {
            double s = 0;
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                s += d[base + j];
            }
            out[offset + i] += s;
        }
    }

    private static double weightTotal(double[] w, int b) {
        double s = 0;
        for (int j = 0; j < b; j++) {
            s += w[j];
        }
        return s;
    }

    private double[] weightsOrOnes(double[] weights, int b) {
        if (weights != null) {
            return weights;
        }
        if (ones.length < b) {
            ones = new double[b];
            Arrays.fill(ones, 1.0);
        }
        return ones;
    }

    private double[] columnScratch(int b) {
        if (columnA.length < b) {
            columnA = new double[b];
        }
        return columnA;
    }

    private double[] columnScratchB(int b) {
        if (columnB.length < b) {
            columnB = new double[b];
        }
        return columnB;
    }

    private int checkBlock(Parameters params, DMatrixRMaj x, DMatrixRMaj y, double[] weights) {
        checkInput(params, x);
        int b = x.numCols;
        if (y.numRows != spec.outputSize() || y.numCols != b) {
            throw new IllegalArgumentException("expected targets of " + spec.outputSize() + "x" + b
                    + " (outputs x examples), found " + y.numRows + "x" + y.numCols);
        }
        if (weights != null && weights.length < b) {
            throw new IllegalArgumentException("expected at least " + b + " example weights, found " + weights.length);
        }
        return b;
    }

    private void checkInput(Parameters params, DMatrixRMaj x) {
        if (params.spec() != spec && !Arrays.equals(params.spec().layerSizes(), spec.layerSizes())) {
            throw new IllegalArgumentException("expected parameters of layer sizes "
                    + Arrays.toString(spec.layerSizes()) + ", found " + Arrays.toString(params.spec().layerSizes()));
        }
        if (x.numRows != spec.inputSize()) {
            throw new IllegalArgumentException("expected " + spec.inputSize() + " features per example, found "
                    + x.numRows);
        }
    }
}
