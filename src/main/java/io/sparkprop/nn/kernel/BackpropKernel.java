package io.sparkprop.nn.kernel;

import java.util.Arrays;

import io.sparkprop.linalg.Gemm;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.util.Internal;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.FMatrixSparseCSC;
import org.ejml.data.Matrix;

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
 *
 * <p>Precision ({@link Precision}). A float64 kernel takes blocks of {@link DMatrixRMaj} and multiplies with
 * the parameters in place. A float32 kernel takes blocks of {@link FMatrixRMaj} (a float32 shard's) and
 * multiplies with a float copy of the parameters made by {@link #load}: every GEMM runs in single
 * precision ({@code sgemm}), and the {@code O(n_l·B)} work between them is done in double — {@code Z_l}
 * is widened (adding {@code b_l}), {@code f_l} (a sigmoid with a vectorisable exponential accurate far
 * beyond float's rounding), the loss with its log-sum-exp and the output delta are computed as in float64,
 * {@code A_l} and {@code Δ_l} are rounded to float for the next GEMM. A block's
 * gradient {@code Δ_l A_{l-1}ᵀ} is a float32 GEMM (its {@code B} products summed in float) added into the
 * double accumulator, so the sum across blocks and shards is a float64 sum; the bias gradients are row sums
 * of the double deltas.
 *
 * <p>Sparse inputs. A block's {@code X} may also be a {@link DMatrixSparseCSC} ({@code n_0 × B}, one
 * compressed column per example, in either precision; values stay double). Only the first layer sees
 * {@code X}, and there the two products become sums over the non-zeros, cost {@code ∝ nnz · n_1} rather
 * than {@code n_0 · B · n_1}: {@code z_0^{(j)} = Σ_{f: x_{fj} ≠ 0} x_{fj} W_0[:, f]} and
 * {@code ∇W_0[:, f] += Σ_j x_{fj} δ_0^{(j)}}. Both read or write a column of the row-major {@code W_0}
 * per non-zero, so the kernel works on {@code W_0ᵀ} instead, one array of a feature's {@code n_1} weights
 * per feature (separate arrays indexed from 0 are what the JIT vectorises): the transposed copy is made the
 * first time a sparse block needs it after {@link #load} (one pass over {@code W_0}), and the gradient goes
 * into the sum's rows of the touched features ({@link GradientSum#pendingFirstLayerRows()}), added into
 * {@code ∇W_0} when the sum is read. In float32 the sparse first layer is computed in double with the
 * float-rounded weights the GEMMs would use, and its output rounded to float for the second layer's GEMM.
 */
@Internal
public final class BackpropKernel {
    private final NetworkSpec spec;
    private final Gemm gemm;
    private final Precision precision;
    private final int layers;
    private final Weights loaded;
    /** {@code Z_l}, then {@code A_l} in place; {@code n_l × B}. */
    private final DMatrixRMaj[] activations;
    /** {@code Δ_l}; {@code n_l × B}. */
    private final DMatrixRMaj[] deltas;
    /** Per-column scratch of the output layer (softmax max, log-sum-exp, target sums); length ≥ B. */
    private double[] columnA = new double[0];
    private double[] columnB = new double[0];
    private double[] ones = new double[0];
    /** Float32 only: {@code Z_l} from {@code sgemm}, then {@code A_l} rounded to float; {@code n_l × B}. */
    private final FMatrixRMaj[] floatActivations;
    /** Float32 only: {@code Δ_l} rounded to float, {@code W_lᵀ Δ_l} from {@code sgemm}, a block's {@code ∇W_l}. */
    private final FMatrixRMaj floatDelta = new FMatrixRMaj(0, 0);
    private final FMatrixRMaj floatBelow = new FMatrixRMaj(0, 0);
    private final FMatrixRMaj floatGradient = new FMatrixRMaj(0, 0);
    /**
     * Float32 sparse blocks only: the block's non-zeros widened to double, sharing its indices (exact: every
     * float is a double), so that one first layer serves both kinds of sparse block.
     */
    private final DMatrixSparseCSC widened = new DMatrixSparseCSC(0, 0, 0);
    /** Sparse blocks only: {@code Z_0ᵀ}, then {@code Δ_0ᵀ} ({@code B × n_1}), one array per example. */
    private double[][] exampleRows = new double[0][];
    /** Tiles of the transpose of {@code W_0}: see {@link #transposedFirstLayer}. */
    private static final int TILE_UNITS = 32;
    private static final int TILE_FEATURES = 1024;
    /** Float32 only: a block's targets widened for the loss. */
    private final DMatrixRMaj wideTargets = new DMatrixRMaj(0, 0);
    /** Dropout only: {@code A_l ∘ M_l} of the hidden layers, the next layer's input ({@code n_l × B}). */
    private final DMatrixRMaj[] dropped;
    /** Dropout only: the masks' factors {@code M_l} (0, or {@code 1/(1 − p)}), {@code n_l × B} row-major. */
    private final double[][] masks;
    /** Class factors only: the block's weights {@code w_j κ_{c_j}}. */
    private double[] classWeighted = new double[0];

    /** A float64 kernel for {@code spec} whose multiplications go through {@code gemm}. */
    public BackpropKernel(NetworkSpec spec, Gemm gemm) {
        this(spec, gemm, Precision.FLOAT64);
    }

    /** A kernel for {@code spec} in {@code precision} whose multiplications go through {@code gemm}. */
    public BackpropKernel(NetworkSpec spec, Gemm gemm, Precision precision) {
        this.spec = spec;
        this.gemm = gemm;
        this.precision = precision;
        this.layers = spec.numLayers();
        this.activations = new DMatrixRMaj[layers];
        this.deltas = new DMatrixRMaj[layers];
        this.floatActivations = new FMatrixRMaj[precision == Precision.FLOAT32 ? layers : 0];
        this.dropped = new DMatrixRMaj[layers];
        this.masks = new double[layers][0];
        for (int l = 0; l < layers; l++) {
            activations[l] = new DMatrixRMaj(spec.width(l), 0);
            deltas[l] = new DMatrixRMaj(spec.width(l), 0);
            if (precision == Precision.FLOAT32) {
                floatActivations[l] = new FMatrixRMaj(spec.width(l), 0);
            }
        }
        this.loaded = new Weights();
    }

    /**
     * The parameters as this kernel's passes read them, made by {@link #load}. In float64 they are the
     * loaded {@link Parameters}, read in place; in float32 a float copy taken when they were loaded, so a
     * change to the parameters afterwards is seen only after loading them again. Sparse blocks, in either
     * precision, read a transposed copy of {@code W_0} made from the loaded values: a change to it too is seen
     * only after loading again. Owned by the kernel and reused by the next {@link #load}.
     */
    public static final class Weights {
        private Parameters params;
        private float[] values;
        /** {@code W_0ᵀ} for sparse blocks, one array of {@code n_1} per feature, valid when {@link #transposedLoaded}. */
        private double[][] firstLayerRows;
        private boolean transposedLoaded;
        /**
         * Whether {@link #firstLayerRows} are the caller's ({@link #load(Parameters, double[][])}) or
         * {@link #roundedRows}: never written as a transposed copy.
         */
        private boolean externalRows;
        /**
         * Float32 only: the caller's rows rounded to float ({@link #load(Parameters, double[][])}), row {@code f} made
         * from {@code roundedFrom[f]}: a row is rounded again only when the caller's row is another array (rows are
         * never written once published, a changed row is a new array), so a load costs the rows that changed.
         */
        private double[][] roundedRows;
        private double[][] roundedFrom;

        private Weights() {
        }
    }

    /**
     * Loads {@code params} for the next passes: float64 keeps a reference; float32 rounds them into the
     * kernel's float copy (one pass over the parameters, no allocation after the first). Returns the
     * kernel's one {@link Weights}, which the previous load's result also is.
     *
     * @throws IllegalArgumentException if {@code params} are not of this kernel's network
     */
    public Weights load(Parameters params) {
        checkParameters(params);
        if (!params.holdsFirstLayerWeights()) {
            throw new IllegalArgumentException("parameters without the first layer's weights need its rows "
                    + "(BackpropKernel.load(Parameters, double[][]))");
        }
        if (loaded.externalRows) {
            loaded.firstLayerRows = null;
            loaded.externalRows = false;
        }
        loaded.params = params;
        loaded.transposedLoaded = false;
        if (precision == Precision.FLOAT32) {
            if (loaded.values == null || loaded.values.length != params.size()) {
                loaded.values = new float[params.size()];
            }
            params.copyToFloats(loaded.values);
        }
        return loaded;
    }

    /**
     * Loads parameters whose first layer's weights are kept as rows per feature ({@code W_0ᵀ}: row {@code f} the
     * {@code n_1} weights of feature {@code f}), with {@code rest} the other values
     * ({@link Parameters#withoutFirstLayerWeights(NetworkSpec)}): what a wide sparse first layer trains with. The
     * sparse blocks' passes read {@code rows} in place (read only, never written; no transposed copy is made);
     * such weights take sparse blocks only. A float32 kernel reads them rounded to float, as it reads
     * {@code W_0} from its float copy of loaded parameters: it keeps the rounded rows and rounds again only the
     * rows that are new arrays since its last load, so {@code rows} must never be written once loaded.
     *
     * @throws IllegalArgumentException if {@code rest} are not of this kernel's network or hold {@code W_0}, or
     *                                  {@code rows} are not {@code n_0} rows of {@code n_1}
     */
    public Weights load(Parameters rest, double[][] rows) {
        checkParameters(rest);
        if (rest.holdsFirstLayerWeights()) {
            throw new IllegalArgumentException("expected parameters without the first layer's weights beside its rows");
        }
        if (rows.length != spec.inputSize() || (rows.length > 0 && rows[0].length != spec.width(0))) {
            throw new IllegalArgumentException("expected " + spec.inputSize() + " first-layer rows of "
                    + spec.width(0) + " weights, found " + rows.length + " of "
                    + (rows.length > 0 ? rows[0].length : 0));
        }
        loaded.params = rest;
        loaded.firstLayerRows = precision == Precision.FLOAT32 ? rounded(rows) : rows;
        loaded.externalRows = true;
        if (precision == Precision.FLOAT32) {
            if (loaded.values == null || loaded.values.length != rest.size()) {
                loaded.values = new float[rest.size()];
            }
            rest.copyToFloats(loaded.values);
        }
        loaded.transposedLoaded = true;
        return loaded;
    }

    /** {@code rows} rounded to float (in double), in {@link Weights#roundedRows}: the rows that changed rounded again. */
    private double[][] rounded(double[][] rows) {
        Weights w = loaded;
        int n = rows.length;
        int h = spec.width(0);
        if (w.roundedRows == null || w.roundedRows.length != n) {
            w.roundedRows = new double[n][];
            w.roundedFrom = new double[n][];
        }
        for (int f = 0; f < n; f++) {
            double[] from = rows[f];
            if (w.roundedFrom[f] != from) {
                double[] to = w.roundedRows[f];
                if (to == null) {
                    to = new double[h];
                    w.roundedRows[f] = to;
                }
                for (int i = 0; i < h; i++) {
                    to[i] = (float) from[i];
                }
                w.roundedFrom[f] = from;
            }
        }
        return w.roundedRows;
    }

    /** The precision this kernel computes in. */
    public Precision precision() {
        return precision;
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
     * @param params  the network's parameters, {@link #load loaded}
     * @param x       inputs, {@code n_0 × B}, one example per column, in this kernel's precision
     * @param y       targets, {@code m × B}, in this kernel's precision
     * @param weights per-example weights, length ≥ {@code B}, or {@code null} for weight 1
     * @param sum     the accumulator (modified)
     * @return the block's weighted loss sum {@code Σ_j w_j C_j}
     * @throws IllegalArgumentException if a shape or a block's precision does not match the kernel
     */
    public double lossAndGradient(Weights params, Matrix x, Matrix y, double[] weights, GradientSum sum) {
        return lossAndGradient(params, x, y, weights, sum, TrainingTerms.NONE, 0L);
    }

    /**
     * {@link #lossAndGradient(Weights, Matrix, Matrix, double[], GradientSum)} of the training objective that
     * {@code terms} describe ({@link TrainingTerms}: dropout, label smoothing, class factors): the loss and
     * weight sum added into {@code sum} are the objective's, with the class factors in the weights.
     *
     * @param maskKey the block's dropout key ({@link TrainingTerms#blockKey}); the same key draws the same masks
     */
    public double lossAndGradient(Weights params, Matrix x, Matrix y, double[] weights, GradientSum sum,
                                  TrainingTerms terms, long maskKey) {
        int b = checkBlock(params, x, y, weights);
        sum.accumulator().checkSameShape(params.params);
        if (b == 0) {
            return 0.0;
        }
        DMatrixRMaj targets = targets(y);
        double[] w = terms.classFactorsLive() == null ? weightsOrOnes(weights, b)
                : classWeighted(weights, targets, terms.classFactorsLive(), b);
        // a float32 sparse block's non-zeros widened once for both passes
        Matrix input = widened(x);
        forward(params, input, false, b, false, terms.dropout(), maskKey);
        double loss = outputLossAndDelta(targets, w, b, terms.labelSmoothing());
        backward(params, input, b, sum, terms.dropout() > 0);
        sum.addTotalsInPlace(loss, weightTotal(w, b), b);
        return loss;
    }

    /** {@code w_j κ_{c_j}}: see {@link TrainingTerms}. */
    private double[] classWeighted(double[] weights, DMatrixRMaj y, double[] factors, int b) {
        int m = y.numRows;
        int classes = TrainingTerms.classes(m);
        if (factors.length != classes) {
            throw new IllegalArgumentException("expected " + classes + " class factors for " + m + " output"
                    + (m == 1 ? "" : "s") + ", found " + factors.length);
        }
        if (classWeighted.length < b) {
            classWeighted = new double[b];
        }
        for (int j = 0; j < b; j++) {
            classWeighted[j] = (weights == null ? 1.0 : weights[j]) * factors[TrainingTerms.classOf(y, j)];
        }
        return classWeighted;
    }

    /** {@link #lossAndGradient(Weights, Matrix, Matrix, double[], GradientSum)} with {@code params} {@link #load loaded}. */
    public double lossAndGradient(Parameters params, Matrix x, Matrix y, double[] weights, GradientSum sum) {
        return lossAndGradient(load(params), x, y, weights, sum);
    }

    /**
     * Forward pass only: the block's weighted loss sum {@code Σ_j w_j C_j} (e.g. for validation).
     *
     * @param weights per-example weights, length ≥ {@code B}, or {@code null} for weight 1
     */
    public double loss(Weights params, Matrix x, Matrix y, double[] weights) {
        int b = checkBlock(params, x, y, weights);
        if (b == 0) {
            return 0.0;
        }
        forward(params, x, false, b, false, 0.0, 0L);
        return outputLossAndDelta(targets(y), weightsOrOnes(weights, b), b, 0.0);
    }

    /** {@link #loss(Weights, Matrix, Matrix, double[])} with {@code params} {@link #load loaded}. */
    public double loss(Parameters params, Matrix x, Matrix y, double[] weights) {
        return loss(load(params), x, y, weights);
    }

    /**
     * Forward pass only, for evaluation: the block's weighted loss sum {@code Σ_j w_j C_j}, and into
     * {@code correctWeight[0]} (modified) the weight of the examples whose largest output is where their
     * target is largest (classification accuracy for one-hot targets) — with one output, whose output and
     * target lie on the same side of 0.5 (a binary classifier's accuracy). Meaningful for classifiers only.
     *
     * @param weights per-example weights, length ≥ {@code B}, or {@code null} for weight 1
     */
    public double evaluate(Weights params, Matrix x, Matrix y, double[] weights, double[] correctWeight) {
        int b = checkBlock(params, x, y, weights);
        if (b == 0) {
            return 0.0;
        }
        double[] w = weightsOrOnes(weights, b);
        forward(params, x, false, b, false, 0.0, 0L);
        DMatrixRMaj yd = targets(y);
        double loss = outputLossAndDelta(yd, w, b, 0.0);
        DMatrixRMaj a = activations[layers - 1];
        int m = a.numRows;
        if (m == 1) {
            // one output: the argmax of one value would always match; a binary classifier's output
            // (a probability) is right when it falls on the same side of 0.5 as its 0/1 target
            for (int j = 0; j < b; j++) {
                if ((a.data[j] >= 0.5) == (yd.data[j] >= 0.5)) {
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
                if (yd.data[k * b + j] > yd.data[target * b + j]) {
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
    public void predict(Weights params, Matrix x, DMatrixRMaj out) {
        output(params, x, false, out, true);
    }

    /** {@link #predict(Weights, Matrix, DMatrixRMaj)} with {@code params} {@link #load loaded}. */
    public void predict(Parameters params, Matrix x, DMatrixRMaj out) {
        predict(load(params), x, out);
    }

    /**
     * Forward pass only: writes the output layer's pre-activations {@code z_L} ({@code m × B}; the
     * logits of a softmax or sigmoid output) into {@code out}, which is reshaped (modified).
     */
    public void predictRaw(Weights params, Matrix x, DMatrixRMaj out) {
        output(params, x, false, out, false);
    }

    /** {@link #predictRaw(Weights, Matrix, DMatrixRMaj)} with {@code params} {@link #load loaded}. */
    public void predictRaw(Parameters params, Matrix x, DMatrixRMaj out) {
        predictRaw(load(params), x, out);
    }

    /**
     * {@link #predict} or (with {@code raw}) {@link #predictRaw} of a block given with one example per
     * <em>row</em> ({@code B × n_0}), as scoring gathers it: each example's features are one contiguous copy,
     * and the first layer's GEMM reads the block transposed ({@code W_0 Xᵀ}). The outputs are {@code m × B}.
     */
    public void predictRows(Weights params, Matrix rows, DMatrixRMaj out, boolean raw) {
        output(params, rows, true, out, !raw);
    }

    private void output(Weights params, Matrix x, boolean examplesAsRows, DMatrixRMaj out, boolean activateOutput) {
        checkInput(params, x, examplesAsRows);
        int b = examplesAsRows ? x.getNumRows() : x.getNumCols();
        out.reshape(spec.outputSize(), b);
        if (b == 0) {
            return;
        }
        forward(params, x, examplesAsRows, b, activateOutput, 0.0, 0L);
        System.arraycopy(activations[layers - 1].data, 0, out.data, 0, out.getNumElements());
    }

    /**
     * {@code Z_l = W_l A_{l-1} + b_l 1ᵀ}, {@code A_l = f_l(Z_l)} for every layer; the output layer's
     * activation is applied only when {@code activateOutput}, else it is left as {@code Z_L} for the
     * fused loss. Float32: the GEMM in single precision, the rest in double, {@code A_l} rounded to float.
     * With a dropout rate {@code p > 0} every hidden layer's {@code A_l} stays in {@link #activations} (its
     * derivative is taken from it) and the next layer reads {@code A_l ∘ M_l} ({@link #dropOut}).
     */
    private void forward(Weights params, Matrix x, boolean examplesAsRows, int b, boolean activateOutput,
                         double dropout, long maskKey) {
        Parameters p = params.params;
        x = widened(x);
        boolean sparse = x instanceof DMatrixSparseCSC;
        DMatrixRMaj input = precision == Precision.FLOAT64 && !sparse ? (DMatrixRMaj) x : null;
        FMatrixRMaj floatInput = precision == Precision.FLOAT32 && !sparse ? (FMatrixRMaj) x : null;
        for (int l = 0; l < layers; l++) {
            DMatrixRMaj z = activations[l];
            boolean output = l == layers - 1;
            Activation f = output && !activateOutput ? Activation.IDENTITY : spec.activation(l);
            if (l == 0 && sparse) {
                sparseFirstLayer(params, (DMatrixSparseCSC) x, z);
                if (precision == Precision.FLOAT64) {
                    Activations.addBiasAndApply(f, z, p.values(), p.biasOffset(0), columnScratch(b), columnScratchB(b));
                    input = z;
                } else {
                    for (int i = 0; i < z.numRows; i++) {
                        double bias = params.values[p.biasOffset(0) + i];
                        for (int j = i * b; j < (i + 1) * b; j++) {
                            z.data[j] += bias;
                        }
                    }
                    applyForFloat32(f, z, b);
                    FMatrixRMaj zf = floatActivations[0];
                    zf.reshape(spec.width(0), b);
                    if (!output) {
                        FloatCopies.narrow(dropout > 0 ? dropOut(0, z, dropout, maskKey) : z, zf);
                    }
                    floatInput = zf;
                }
                if (precision == Precision.FLOAT64 && !output && dropout > 0) {
                    input = dropOut(0, z, dropout, maskKey);
                }
                continue;
            }
            if (precision == Precision.FLOAT64) {
                z.reshape(spec.width(l), b);
                gemm.gemm(false, l == 0 && examplesAsRows, 1.0, p.values(), p.weightOffset(l), spec.width(l),
                        spec.fanIn(l), input, 0.0, z);
                Activations.addBiasAndApply(f, z, p.values(), p.biasOffset(l), columnScratch(b), columnScratchB(b));
                input = !output && dropout > 0 ? dropOut(l, z, dropout, maskKey) : z;
            } else {
                FMatrixRMaj zf = floatActivations[l];
                zf.reshape(spec.width(l), b);
                gemm.gemm(false, l == 0 && examplesAsRows, 1.0f, params.values, p.weightOffset(l), spec.width(l),
                        spec.fanIn(l), floatInput, 0.0f, zf);
                FloatCopies.widenAddingBias(zf, params.values, p.biasOffset(l), z);
                applyForFloat32(f, z, b);
                if (!output) {
                    // A_l (∘ M_l with dropout): the next layer's GEMM input and this layer's ∇W_{l+1} factor
                    FloatCopies.narrow(dropout > 0 ? dropOut(l, z, dropout, maskKey) : z, zf);
                }
                floatInput = zf;
            }
        }
    }

    /**
     * {@code A_l ∘ M_l} of hidden layer {@code l} into {@link #dropped}, with the mask's factors kept in
     * {@link #masks} for the backward pass: unit {@code i} of example {@code j} is kept, scaled by
     * {@code 1/(1 − p)}, when {@code U(key_l, i·B + j) ≥ p} ({@link TrainingTerms}).
     */
    private DMatrixRMaj dropOut(int l, DMatrixRMaj a, double rate, long maskKey) {
        int rows = a.numRows;
        int cols = a.numCols;
        int n = rows * cols;
        if (dropped[l] == null) {
            dropped[l] = new DMatrixRMaj(rows, cols);
        }
        DMatrixRMaj out = dropped[l];
        out.reshape(rows, cols);
        if (masks[l].length < n) {
            masks[l] = new double[n];
        }
        double[] mask = masks[l];
        double keep = 1.0 / (1.0 - rate);
        long key = TrainingTerms.layerKey(maskKey, l);
        double[] in = a.data;
        double[] o = out.data;
        TrainingTerms.fillMask(key, rate, keep, mask, n);
        for (int k = 0; k < n; k++) {
            o[k] = in[k] * mask[k];
        }
        return out;
    }

    /** {@code f} on {@code Z_l} (bias added) in a float32 kernel: the vectorisable sigmoid, else as float64. */
    private void applyForFloat32(Activation f, DMatrixRMaj z, int b) {
        if (f == Activation.SIGMOID) {
            Activations.sigmoidForFloat32(z);
        } else {
            Activations.addBiasAndApply(f, z, null, 0, columnScratch(b), columnScratchB(b));
        }
    }

    /**
     * {@code Z_0 = W_0 X} (no bias) for a sparse {@code X}: each example's pre-activations, a row of
     * {@link #exampleRows}, are the sum over its non-zeros of {@code x_{fj}} times row {@code f} of
     * {@code W_0ᵀ}; then transposed into {@code z} ({@code n_1 × B}).
     */
    private void sparseFirstLayer(Weights params, DMatrixSparseCSC x, DMatrixRMaj z) {
        double[][] wt = transposedFirstLayer(params);
        int h = spec.width(0);
        int b = x.numCols;
        double[][] zt = exampleRows(b, h);
        int[] cols = x.col_idx;
        int[] rows = x.nz_rows;
        double[] values = x.nz_values;
        for (int j = 0; j < b; j++) {
            double[] out = zt[j];
            Arrays.fill(out, 0.0);
            for (int k = cols[j]; k < cols[j + 1]; k++) {
                axpy(values[k], wt[rows[k]], out);
            }
        }
        z.reshape(h, b);
        double[] d = z.data;
        for (int j = 0; j < b; j++) {
            double[] row = zt[j];
            for (int i = 0; i < h; i++) {
                d[i * b + j] = row[i];
            }
        }
    }

    /**
     * {@code ∇W_0 += Δ_0 Xᵀ} for a sparse {@code X}, into the sum's transposed rows: for each non-zero
     * {@code x_{fj}}, row {@code f} of {@code ∇W_0ᵀ} gains {@code x_{fj} δ_0^{(j)}} (a row made on first touch).
     */
    private void sparseFirstLayerGradient(DMatrixSparseCSC x, DMatrixRMaj delta, GradientSum sum) {
        int h = spec.width(0);
        int b = x.numCols;
        double[][] dt = exampleRows(b, h);
        double[] d = delta.data;
        for (int j = 0; j < b; j++) {
            double[] row = dt[j];
            for (int i = 0; i < h; i++) {
                row[i] = d[i * b + j];
            }
        }
        double[][] gt = sum.pendingFirstLayerRows();
        int[] cols = x.col_idx;
        int[] rows = x.nz_rows;
        double[] values = x.nz_values;
        for (int j = 0; j < b; j++) {
            double[] in = dt[j];
            for (int k = cols[j]; k < cols[j + 1]; k++) {
                double[] out = gt[rows[k]];
                if (out == null) {
                    out = new double[h];
                    gt[rows[k]] = out;
                }
                axpy(values[k], in, out);
            }
        }
    }

    /** {@code x}, or for a float32 sparse block its non-zeros in double ({@link #widened}), valid until the next call. */
    private Matrix widened(Matrix x) {
        if (!(x instanceof FMatrixSparseCSC)) {
            return x;
        }
        FMatrixSparseCSC f = (FMatrixSparseCSC) x;
        DMatrixSparseCSC d = widened;
        int nz = f.nz_length;
        if (d.nz_values.length < nz) {
            d.nz_values = new double[nz];
        }
        for (int k = 0; k < nz; k++) {
            d.nz_values[k] = f.nz_values[k];
        }
        d.numRows = f.numRows;
        d.numCols = f.numCols;
        d.col_idx = f.col_idx;
        d.nz_rows = f.nz_rows;
        d.nz_length = nz;
        d.indicesSorted = f.indicesSorted;
        return d;
    }

    /**
     * {@code y ← y + a·x} over {@code y}'s length. Both arrays are read from index 0 on the same index, the one
     * form of this loop C2 vectorises (with offsets into one flat array it cannot rule out that they overlap,
     * and runs it scalar: measured 0.4–0.9 against 0.1–0.2 ns a value).
     */
    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < y.length; i++) {
            y[i] += a * x[i];
        }
    }

    /**
     * {@code W_0ᵀ} of the loaded weights (float32: of their float copy) as one array per feature, made on first
     * use after {@link #load}.
     */
    private double[][] transposedFirstLayer(Weights params) {
        if (params.transposedLoaded) {
            return params.firstLayerRows;
        }
        int n = spec.inputSize();
        int h = spec.width(0);
        if (params.firstLayerRows == null || params.firstLayerRows.length != n) {
            params.firstLayerRows = new double[n][h];
        }
        double[][] wt = params.firstLayerRows;
        int off = params.params.weightOffset(0);
        double[] wide = params.params.values();
        // tiles of 32 units × 1024 features: runs of 8 KB along each row of W_0, and the 256 KB of W_0ᵀ they
        // fill stay in cache (2.2× faster than 32 × 32 tiles at 2^18 × 32)
        for (int i0 = 0; i0 < h; i0 += TILE_UNITS) {
            for (int f0 = 0; f0 < n; f0 += TILE_FEATURES) {
                for (int i = i0; i < Math.min(h, i0 + TILE_UNITS); i++) {
                    int row = off + i * n;
                    for (int f = f0; f < Math.min(n, f0 + TILE_FEATURES); f++) {
                        wt[f][i] = precision == Precision.FLOAT64 ? wide[row + f] : params.values[row + f];
                    }
                }
            }
        }
        params.transposedLoaded = true;
        return wt;
    }

    /** {@code count} reused rows of {@code width} values (the workspace grows to the widest block seen). */
    private double[][] exampleRows(int count, int width) {
        if (exampleRows.length < count) {
            double[][] grown = new double[count][];
            System.arraycopy(exampleRows, 0, grown, 0, exampleRows.length);
            for (int j = exampleRows.length; j < count; j++) {
                grown[j] = new double[width];
            }
            exampleRows = grown;
        }
        return exampleRows;
    }

    /** Output delta and loss from {@code Z_L}; leaves {@code A_L} in place of {@code Z_L}. */
    private double outputLossAndDelta(DMatrixRMaj y, double[] w, int b, double labelSmoothing) {
        DMatrixRMaj z = activations[layers - 1];
        DMatrixRMaj delta = deltas[layers - 1];
        delta.reshape(z.numRows, b);
        Activation out = spec.outputActivation();
        switch (spec.loss()) {
            case SOFTMAX_CROSS_ENTROPY:
                return Losses.softmaxCrossEntropy(z, y, w, delta, columnScratch(b), columnScratchB(b), labelSmoothing);
            case SIGMOID_CROSS_ENTROPY:
                return Losses.sigmoidCrossEntropy(z, y, w, delta, labelSmoothing);
            case HALF_SQUARED_ERROR:
                if (labelSmoothing != 0) {
                    throw new IllegalArgumentException("label smoothing applies to the cross-entropy losses, not to "
                            + spec.loss().name().toLowerCase(java.util.Locale.ROOT));
                }
                Activations.addBiasAndApply(out, z, null, 0, columnScratch(b), columnScratchB(b));
                return Losses.halfSquaredError(out, z, y, w, delta);
            default:
                throw new IllegalStateException("unhandled loss " + spec.loss());
        }
    }

    /**
     * {@code ∇W_l += Δ_l A_{l-1}ᵀ}, {@code ∇b_l += Δ_l 1}, {@code Δ_{l-1} = f'_{l-1} ∘ (W_lᵀ Δ_l)}. Float32:
     * both GEMMs in single precision on {@code Δ_l} rounded to float, the block's {@code ∇W_l} added into the
     * double gradient, the derivative applied in double. With dropout, {@code ∇W_l} takes the dropped
     * {@code A_{l-1} ∘ M_{l-1}} the forward pass used, and {@code Δ_{l-1} = f'_{l-1} ∘ M_{l-1} ∘ (W_lᵀ Δ_l)} with
     * the derivative taken at the kept {@code A_{l-1}}. A sparse {@code x} comes {@link #widened}.
     */
    private void backward(Weights params, Matrix x, int b, GradientSum sum, boolean dropout) {
        Parameters p = params.params;
        Parameters gradient = sum.accumulator();
        for (int l = layers - 1; l >= 0; l--) {
            DMatrixRMaj delta = deltas[l];
            if (l == 0 && x instanceof DMatrixSparseCSC) {
                sparseFirstLayerGradient((DMatrixSparseCSC) x, delta, sum);
            } else if (precision == Precision.FLOAT64) {
                if (l == 0) {
                    sum.firstLayerWrittenDense();
                }
                DMatrixRMaj previous = l == 0 ? (DMatrixRMaj) x : dropout ? dropped[l - 1] : activations[l - 1];
                gemm.gemm(false, true, 1.0, delta, previous, 1.0, gradient.values(), gradient.weightOffset(l),
                        spec.width(l), spec.fanIn(l));
            } else {
                if (l == 0) {
                    sum.firstLayerWrittenDense();
                }
                FMatrixRMaj previous = l == 0 ? (FMatrixRMaj) x : floatActivations[l - 1];
                FloatCopies.narrow(delta, floatDelta);
                floatGradient.reshape(spec.width(l), spec.fanIn(l));
                gemm.gemm(false, true, 1.0f, floatDelta, previous, 0.0f, floatGradient);
                FloatCopies.addWidened(floatGradient, gradient.values(), gradient.weightOffset(l));
            }
            addRowSums(delta, gradient.values(), gradient.biasOffset(l));
            if (l > 0) {
                DMatrixRMaj below = deltas[l - 1];
                below.reshape(spec.width(l - 1), b);
                if (precision == Precision.FLOAT64) {
                    gemm.gemm(true, false, 1.0, p.values(), p.weightOffset(l), spec.width(l), spec.fanIn(l),
                            delta, 0.0, below);
                } else {
                    floatBelow.reshape(spec.width(l - 1), b);
                    gemm.gemm(true, false, 1.0f, params.values, p.weightOffset(l), spec.width(l), spec.fanIn(l),
                            floatDelta, 0.0f, floatBelow);
                    FloatCopies.widen(floatBelow, below);
                }
                if (dropout) {
                    double[] mask = masks[l - 1];
                    double[] d = below.data;
                    for (int k = 0, n = below.getNumElements(); k < n; k++) {
                        d[k] *= mask[k];
                    }
                }
                Activations.multiplyByDerivative(spec.activation(l - 1), activations[l - 1], below);
            }
        }
    }

    /** A block's targets as doubles: float64's as they are, float32's widened into the workspace. */
    private DMatrixRMaj targets(Matrix y) {
        if (precision == Precision.FLOAT64) {
            return (DMatrixRMaj) y;
        }
        FloatCopies.widen((FMatrixRMaj) y, wideTargets);
        return wideTargets;
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

    private int checkBlock(Weights params, Matrix x, Matrix y, double[] weights) {
        checkInput(params, x, false);
        checkPrecision("targets", y);
        int b = x.getNumCols();
        if (y.getNumRows() != spec.outputSize() || y.getNumCols() != b) {
            throw new IllegalArgumentException("expected targets of " + spec.outputSize() + "x" + b
                    + " (outputs x examples), found " + y.getNumRows() + "x" + y.getNumCols());
        }
        if (weights != null && weights.length < b) {
            throw new IllegalArgumentException("expected at least " + b + " example weights, found " + weights.length);
        }
        return b;
    }

    private void checkInput(Weights params, Matrix x, boolean examplesAsRows) {
        if (params != loaded || params.params == null) {
            throw new IllegalArgumentException("expected the weights this kernel loaded (BackpropKernel.load)");
        }
        checkPrecision("inputs", x);
        boolean sparse = x instanceof DMatrixSparseCSC || x instanceof FMatrixSparseCSC;
        if (examplesAsRows && sparse) {
            throw new IllegalArgumentException("a sparse block holds examples as columns, not rows");
        }
        if (!sparse && !params.params.holdsFirstLayerWeights()) {
            throw new IllegalArgumentException("a dense block needs the first layer's weights, which these "
                    + "parameters keep as rows per feature (sparse blocks only)");
        }
        int features = examplesAsRows ? x.getNumCols() : x.getNumRows();
        if (features != spec.inputSize()) {
            throw new IllegalArgumentException("expected " + spec.inputSize() + " features per example, found "
                    + features);
        }
    }

    /**
     * A float64 kernel takes {@link DMatrixRMaj} blocks, a float32 one {@link FMatrixRMaj}; both take inputs
     * as a {@link DMatrixSparseCSC} too, and a float32 one as an {@link FMatrixSparseCSC}.
     */
    private void checkPrecision(String what, Matrix m) {
        if (what.equals("inputs") && (m instanceof DMatrixSparseCSC
                || m instanceof FMatrixSparseCSC && precision == Precision.FLOAT32)) {
            return;
        }
        boolean ok = precision == Precision.FLOAT64 ? m instanceof DMatrixRMaj : m instanceof FMatrixRMaj;
        if (!ok) {
            throw new IllegalArgumentException("a " + precision.lowerName() + " kernel expects "
                    + (precision == Precision.FLOAT64 ? "DMatrixRMaj" : "FMatrixRMaj") + " " + what + ", found "
                    + m.getClass().getSimpleName());
        }
    }

    private void checkParameters(Parameters params) {
        if (params.spec() != spec && !Arrays.equals(params.spec().layerSizes(), spec.layerSizes())) {
            throw new IllegalArgumentException("expected parameters of layer sizes "
                    + Arrays.toString(spec.layerSizes()) + ", found " + Arrays.toString(params.spec().layerSizes()));
        }
    }
}
