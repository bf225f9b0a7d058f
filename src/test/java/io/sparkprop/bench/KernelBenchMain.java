package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.testutil.TestData;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link KernelBench} and prints, per network, block size, backend and precision, the kernel's time,
 * examples/s and GFLOP/s next to the bare GEMM rate of the same shapes, then the line
 * {@code result: kernel/gemm=<lowest ratio at B>=128, fastest backend, float64> backend=<name>
 * gflops=<kernel GFLOP/s, 784-256-128-10, B=256> f32_vs_f64=<lowest float32/float64 kernel rate at B>=128>
 * f32_kernel/gemm=<lowest float32 kernel/sgemm ratio at B>=128>} (the float32 figures when both were run).
 *
 * <p>Options: {@code --quick} (1 warm-up and 3 measured iterations of 1 s instead of 3 and 5),
 * {@code --backends ejml,netlib}, {@code --blocks 64,128,256,512}, {@code --precisions float64,float32}.
 */
public final class KernelBenchMain {
    private KernelBenchMain() {
    }

    public static void main(String[] args) throws RunnerException {
        boolean quick = false;
        String backends = "ejml,netlib";
        String blocks = "64,128,256,512";
        String precisions = "float64,float32";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick":
                    quick = true;
                    break;
                case "--backends":
                    backends = args[++i];
                    break;
                case "--blocks":
                    blocks = args[++i];
                    break;
                case "--precisions":
                    precisions = args[++i];
                    break;
                default:
                    System.err.println("unknown option " + args[i]
                            + "; usage: jobs/bench kernel [--quick] [--backends ejml,netlib] [--blocks 64,128,256,512] "
                            + "[--precisions float64,float32]");
                    System.exit(2);
            }
        }
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(KernelBench.class.getName() + "\\.")
                .param("backend", backends.split(","))
                .param("blockSize", blocks.split(","))
                .param("precision", precisions.split(","))
                .forks(1)
                .warmupIterations(quick ? 1 : 3)
                .measurementIterations(quick ? 3 : 5)
                .warmupTime(TimeValue.seconds(1))
                .measurementTime(TimeValue.seconds(1))
                .jvmArgs("-Xmx2g", "--add-modules=jdk.incubator.vector");
        Collection<RunResult> results = new Runner(options.build()).run();

        List<Row> rows = new ArrayList<>();
        for (RunResult kernel : results) {
            if (!kernel.getParams().getBenchmark().endsWith(".kernel")) {
                continue;
            }
            for (RunResult gemm : results) {
                if (gemm.getParams().getBenchmark().endsWith(".gemm") && sameParams(kernel, gemm)) {
                    rows.add(new Row(kernel, gemm));
                }
            }
        }
        System.out.println();
        System.out.println(String.format(Locale.ROOT, "%-16s %5s %-14s %-8s %10s %12s %10s %10s %11s",
                "network", "B", "backend", "prec", "kernel ms", "examples/s", "kernel GF/s", "gemm GF/s",
                "kernel/gemm"));
        for (Row r : rows) {
            System.out.println(String.format(Locale.ROOT, "%-16s %5d %-14s %-8s %10.3f %12.0f %10.1f %10.1f %11.3f",
                    r.network, r.blockSize, r.backendName, r.precision, r.kernelMs, r.blockSize / (r.kernelMs / 1e3),
                    r.kernelGflops(), r.gemmGflops(), r.ratio()));
        }
        // The fastest backend: the highest float64 kernel rate on the deep network at B = 256 (any B if 256 was
        // not run).
        Row best = null;
        for (Row r : rows) {
            if (!r.network.equals("784-256-128-10") || !r.precision.equals("float64")) {
                continue;
            }
            boolean preferred = best == null || (r.blockSize == 256) != (best.blockSize == 256)
                    ? r.blockSize == 256 || best == null
                    : r.kernelGflops() > best.kernelGflops();
            if (preferred) {
                best = r;
            }
        }
        if (best == null) {
            System.out.println("result: no 784-256-128-10 rows measured");
            return;
        }
        if (precisions.contains("float32")) {
            accumulationError(best.backend);
        }
        double lowest = Double.POSITIVE_INFINITY;
        double lowestSingle = Double.POSITIVE_INFINITY;
        double lowestSpeedup = Double.POSITIVE_INFINITY;
        for (Row r : rows) {
            if (!r.backend.equals(best.backend) || r.blockSize < 128) {
                continue;
            }
            if (r.precision.equals("float64")) {
                lowest = Math.min(lowest, r.ratio());
                continue;
            }
            lowestSingle = Math.min(lowestSingle, r.ratio());
            for (Row d : rows) {
                if (d.precision.equals("float64") && d.backend.equals(r.backend) && d.network.equals(r.network)
                        && d.blockSize == r.blockSize) {
                    lowestSpeedup = Math.min(lowestSpeedup, r.kernelGflops() / d.kernelGflops());
                }
            }
        }
        System.out.println(String.format(Locale.ROOT, "result: kernel/gemm=%.3f backend=%s gflops=%.1f%s",
                lowest, best.backendName, best.kernelGflops(), Double.isInfinite(lowestSpeedup) ? ""
                        : String.format(Locale.ROOT, " f32_vs_f64=%.3f f32_kernel/gemm=%.3f", lowestSpeedup,
                                lowestSingle)));
    }

    /**
     * Where a float32 shard's gradient should be summed: the float32 kernel adds each block's float GEMM into a
     * double accumulator. Against the float64 kernel on the same (float-exact) data, this prints the relative
     * error of that sum over a shard of 200 blocks of 128 examples (784-256-128-10), and of the alternative —
     * the running sum kept in float, rounded after every block.
     */
    private static void accumulationError(String backend) {
        NetworkSpec spec = KernelBench.spec("784-256-128-10");
        io.sparkprop.linalg.Gemm gemm = GemmBackend.fromName(backend).gemm();
        io.sparkprop.nn.Parameters params = io.sparkprop.nn.Parameters.initialise(spec, 1);
        TestData.floatExact(params.values());
        io.sparkprop.nn.kernel.BackpropKernel f64 = new io.sparkprop.nn.kernel.BackpropKernel(spec, gemm);
        io.sparkprop.nn.kernel.BackpropKernel f32 = new io.sparkprop.nn.kernel.BackpropKernel(spec, gemm,
                io.sparkprop.linalg.Precision.FLOAT32);
        io.sparkprop.nn.kernel.BackpropKernel.Weights w32 = f32.load(params);
        io.sparkprop.nn.GradientSum reference = new io.sparkprop.nn.GradientSum(spec);
        io.sparkprop.nn.GradientSum doubleSum = new io.sparkprop.nn.GradientSum(spec);
        io.sparkprop.nn.GradientSum block = new io.sparkprop.nn.GradientSum(spec);
        float[] floatSum = new float[params.size()];
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int k = 0; k < 200; k++) {
            org.ejml.data.DMatrixRMaj x = new org.ejml.data.DMatrixRMaj(784, 128);
            for (int i = 0; i < x.data.length; i++) {
                x.data[i] = (float) random.nextDouble();
            }
            org.ejml.data.DMatrixRMaj y = new org.ejml.data.DMatrixRMaj(10, 128);
            for (int j = 0; j < 128; j++) {
                y.set(random.nextInt(10), j, 1.0);
            }
            f64.lossAndGradient(params, x, y, null, reference);
            f32.lossAndGradient(w32, TestData.narrow(x), TestData.narrow(y), null, doubleSum);
            block.resetInPlace();
            f32.lossAndGradient(w32, TestData.narrow(x), TestData.narrow(y), null, block);
            double[] g = block.gradient().values();
            for (int i = 0; i < floatSum.length; i++) {
                floatSum[i] = (float) (floatSum[i] + g[i]);
            }
        }
        double[] ref = reference.gradient().values();
        double[] viaFloat = new double[floatSum.length];
        for (int i = 0; i < floatSum.length; i++) {
            viaFloat[i] = floatSum[i];
        }
        System.out.println(String.format(Locale.ROOT, "float32 gradient of a shard of 200 blocks of 128 (784-256-128-10), "
                + "relative error against float64: blocks summed in double %.2e, running sum in float %.2e",
                TestData.relativeNormError(ref, doubleSum.gradient().values()),
                TestData.relativeNormError(ref, viaFloat)));
    }

    private static boolean sameParams(RunResult a, RunResult b) {
        for (String key : new String[] {"network", "blockSize", "backend", "precision"}) {
            if (!a.getParams().getParam(key).equals(b.getParams().getParam(key))) {
                return false;
            }
        }
        return true;
    }

    private static final class Row {
        final String network;
        final int blockSize;
        final String backend;
        final String backendName;
        final String precision;
        final double kernelMs;
        final double gemmMs;
        final double flops;

        Row(RunResult kernel, RunResult gemm) {
            network = kernel.getParams().getParam("network");
            blockSize = Integer.parseInt(kernel.getParams().getParam("blockSize"));
            backend = kernel.getParams().getParam("backend");
            backendName = GemmBackend.fromName(backend).gemm().name();
            precision = kernel.getParams().getParam("precision");
            kernelMs = kernel.getPrimaryResult().getScore();
            gemmMs = gemm.getPrimaryResult().getScore();
            NetworkSpec spec = KernelBench.spec(network);
            flops = KernelBench.gemmFlops(spec, blockSize);
        }

        double kernelGflops() {
            return flops / (kernelMs * 1e6);
        }

        double gemmGflops() {
            return flops / (gemmMs * 1e6);
        }

        double ratio() {
            return gemmMs / kernelMs;
        }
    }
}
