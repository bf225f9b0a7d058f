package io.sparkprop.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.sparkprop.linalg.Gemm;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.testutil.TestData;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.FMatrixRMaj;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * JMH benchmark of one block's forward + backward pass ({@link #kernel}) against the bare GEMMs of the
 * same shapes on the same backend ({@link #gemm}): per layer {@code Z_l = W_l A_{l-1}},
 * {@code ∇W_l += Δ_l A_{l-1}ᵀ} and, above the first layer, {@code W_lᵀ Δ_l}. Run through
 * {@link KernelBenchMain} ({@code jobs/bench kernel}), which turns the times into GFLOP/s and ratios. In
 * float32 both run in single precision: the float32 kernel on float blocks with its parameters loaded once (as
 * a task does), against the bare {@code sgemm}s of the same shapes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class KernelBench {
    /** Networks as in the end-to-end benchmarks: sigmoid for the small one, ReLU for the deep one. */
    @Param({"784-128-10", "784-256-128-10"})
    public String network;

    @Param({"64", "128", "256", "512"})
    public int blockSize;

    @Param({"ejml", "netlib"})
    public String backend;

    @Param({"float64", "float32"})
    public String precision;

    private boolean single;
    private BackpropKernel.Weights loaded;
    private FMatrixRMaj xf;
    private FMatrixRMaj yf;
    private FMatrixRMaj[] zf;
    private FMatrixRMaj[] deltaf;
    private FMatrixRMaj[] wf;
    private FMatrixRMaj[] gwf;

    private BackpropKernel kernel;
    private Gemm gemm;
    private Parameters params;
    private GradientSum sum;
    private DMatrixRMaj x;
    private DMatrixRMaj y;
    private DMatrixRMaj[] z;
    private DMatrixRMaj[] delta;
    /** The weights and the gradient's weights as matrices of their own: the bare GEMMs' operands. */
    private DMatrixRMaj[] w;
    private DMatrixRMaj[] gw;

    /** The spec a benchmark network name stands for. */
    static NetworkSpec spec(String network) {
        String[] sizes = network.split("-");
        Activation hidden = sizes.length == 3 ? Activation.SIGMOID : Activation.RELU;
        NetworkSpec.Builder b = NetworkSpec.builder().input(Integer.parseInt(sizes[0]));
        for (int i = 1; i < sizes.length - 1; i++) {
            b.dense(Integer.parseInt(sizes[i]), hidden);
        }
        return b.dense(Integer.parseInt(sizes[sizes.length - 1]), Activation.SOFTMAX).build();
    }

    /** Floating-point operations of the GEMMs of one block: {@code 2B (2 Σ_l n_l n_{l-1} + Σ_{l>0} n_l n_{l-1})}. */
    static double gemmFlops(NetworkSpec spec, int blockSize) {
        double flops = 0;
        for (int l = 0; l < spec.numLayers(); l++) {
            double mn = (double) spec.width(l) * spec.fanIn(l);
            flops += 2 * mn * blockSize * (l > 0 ? 3 : 2);
        }
        return flops;
    }

    @Setup
    public void setUp() {
        NetworkSpec spec = spec(network);
        gemm = GemmBackend.fromName(backend).gemm();
        single = Precision.fromName(precision) == Precision.FLOAT32;
        kernel = new BackpropKernel(spec, gemm, Precision.fromName(precision));
        params = Parameters.initialise(spec, 1);
        sum = new GradientSum(spec);
        w = new DMatrixRMaj[spec.numLayers()];
        gw = new DMatrixRMaj[spec.numLayers()];
        for (int l = 0; l < spec.numLayers(); l++) {
            w[l] = DMatrixRMaj.wrap(spec.width(l), spec.fanIn(l), params.weights(l).values());
            gw[l] = new DMatrixRMaj(spec.width(l), spec.fanIn(l));
        }
        SplittableRandom random = new SplittableRandom(2);
        x = new DMatrixRMaj(spec.inputSize(), blockSize);
        for (int i = 0; i < x.getNumElements(); i++) {
            x.data[i] = random.nextDouble();
        }
        y = new DMatrixRMaj(spec.outputSize(), blockSize);
        for (int j = 0; j < blockSize; j++) {
            y.set(random.nextInt(spec.outputSize()), j, 1.0);
        }
        z = new DMatrixRMaj[spec.numLayers()];
        delta = new DMatrixRMaj[spec.numLayers()];
        for (int l = 0; l < spec.numLayers(); l++) {
            z[l] = new DMatrixRMaj(spec.width(l), blockSize);
            delta[l] = new DMatrixRMaj(spec.width(l), blockSize);
            for (int i = 0; i < delta[l].getNumElements(); i++) {
                delta[l].data[i] = random.nextDouble() - 0.5;
            }
        }
        loaded = kernel.load(params);
        xf = TestData.narrow(x);
        yf = TestData.narrow(y);
        zf = new FMatrixRMaj[z.length];
        deltaf = new FMatrixRMaj[z.length];
        wf = new FMatrixRMaj[z.length];
        gwf = new FMatrixRMaj[z.length];
        for (int l = 0; l < z.length; l++) {
            zf[l] = TestData.narrow(z[l]);
            deltaf[l] = TestData.narrow(delta[l]);
            wf[l] = TestData.narrow(w[l]);
            gwf[l] = TestData.narrow(gw[l]);
        }
    }

    @Benchmark
    public double kernel() {
        return single ? kernel.lossAndGradient(loaded, xf, yf, null, sum)
                : kernel.lossAndGradient(loaded, x, y, null, sum);
    }

    @Benchmark
    public Object gemm() {
        if (single) {
            return sgemm();
        }
        int layers = z.length;
        for (int l = 0; l < layers; l++) {
            gemm.gemm(false, false, 1.0, w[l], l == 0 ? x : z[l - 1], 0.0, z[l]);
        }
        for (int l = layers - 1; l >= 0; l--) {
            gemm.gemm(false, true, 1.0, delta[l], l == 0 ? x : z[l - 1], 1.0, gw[l]);
            if (l > 0) {
                gemm.gemm(true, false, 1.0, w[l], delta[l], 0.0, delta[l - 1]);
            }
        }
        return sum;
    }

    private Object sgemm() {
        int layers = zf.length;
        for (int l = 0; l < layers; l++) {
            gemm.gemm(false, false, 1.0f, wf[l], l == 0 ? xf : zf[l - 1], 0.0f, zf[l]);
        }
        for (int l = layers - 1; l >= 0; l--) {
            gemm.gemm(false, true, 1.0f, deltaf[l], l == 0 ? xf : zf[l - 1], 1.0f, gwf[l]);
            if (l > 0) {
                gemm.gemm(true, false, 1.0f, wf[l], deltaf[l], 0.0f, deltaf[l - 1]);
            }
        }
        return sum;
    }
}
