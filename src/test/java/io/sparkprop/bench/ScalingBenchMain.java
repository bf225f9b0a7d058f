package io.sparkprop.bench;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.testutil.ChildJvm;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.ejml.data.DMatrixRMaj;

/**
 * {@code jobs/bench scaling}: the round's fixed cost against parameters P and shards S on {@code local[1]},
 * {@code local[2]} and a standalone cluster of 1 worker (2 cores) and of 2 workers (1 core each) started
 * here on loopback, its parts ({@link RoundCost}), the kernel's compute rate, and the scaling model
 * ({@link ScalingModel}) fitted to them: every point with the model's error, then the predicted epoch time
 * and best {@code localSteps} for 8, 64 and 512 executors on a 10 Gbit/s, 1 ms network.
 * Options: {@code --quick} (fewer points and repetitions), {@code --local-only} (no cluster).
 */
public final class ScalingBenchMain {
    private ScalingBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        boolean localOnly = false;
        for (String a : args) {
            switch (a) {
                case "--quick" -> quick = true;
                case "--local-only" -> localOnly = true;
                default -> {
                    System.err.println("unknown option " + a + "\nusage: jobs/bench scaling [--quick] [--local-only]");
                    System.exit(2);
                }
            }
        }
        int reps = quick ? 9 : 21;
        long[] sizes = quick ? new long[] {1_000, 235_000, 1_000_000} : new long[] {1_000, 50_000, 235_000, 1_000_000};
        int[] shards = {1, 2, 3, 4, 8};

        NetworkSpec mnist = NetworkSpec.builder().input(784).dense(256, Activation.RELU).dense(128, Activation.RELU)
                .dense(10, Activation.SOFTMAX).build();
        NetworkSpec big = NetworkSpec.builder().input(784).dense(4096, Activation.RELU).dense(512, Activation.RELU)
                .dense(10, Activation.SOFTMAX).build();
        double mnistRate = kernelExamplesPerSecond(mnist, 128);
        double bigRate = kernelExamplesPerSecond(big, 128);
        System.out.printf(Locale.ROOT, "kernel, one thread, blocks of 128: %s (P=%d) %.0f examples/s (%.1f GFLOP/s); "
                        + "%s (P=%d) %.0f examples/s (%.1f GFLOP/s)%n", mnist, mnist.parameterCount(), mnistRate,
                mnistRate * flopsPerExample(mnist) / 1e9, big, big.parameterCount(), bigRate,
                bigRate * flopsPerExample(big) / 1e9);

        List<RoundCost.Point> points = new ArrayList<>();
        Map<String, Double> perTask = new java.util.LinkedHashMap<>();
        for (String master : new String[] {"local[1]", "local[2]"}) {
            int cores = master.equals("local[1]") ? 1 : 2;
            measure(points, perTask, master, master, cores, 0, sizes, shards, reps);
        }
        if (!localOnly) {
            for (int workers : new int[] {1, 2}) {
                try (Cluster cluster = Cluster.start(workers, workers == 1 ? 2 : 1)) {
                    measure(points, perTask, cluster.url, "standalone " + workers + "w", 2, workers, sizes, shards,
                            reps);
                }
            }
        }
        System.out.println();
        System.out.println("the round's fixed cost and its parts, ms (median of " + reps + " jobs each):");
        System.out.printf(Locale.ROOT, "%-15s %9s %3s %8s %10s %8s %8s %8s%n", "master", "P", "S", "job", "broadcast",
                "result", "round", "parts");
        for (RoundCost.Point p : points) {
            System.out.printf(Locale.ROOT, "%-15s %9d %3d %8.1f %10.1f %8.1f %8.1f %8.1f%n", p.master(), p.parameters(),
                    p.shards(), p.job(), p.broadcast(), p.result(), p.round(), p.parts());
        }
        System.out.println();
        perTask.forEach((master, ms) -> System.out.printf(Locale.ROOT, "one more task in a job (64 vs 8 empty tasks), "
                + "%s: %.2f ms%n", master, ms));
        double tau = perTask.getOrDefault("standalone 2w", perTask.get("local[2]"));
        ScalingModel.report(points, tau, mnist, mnistRate, big, bigRate);
    }

    /** @param executors executors to wait for before timing (0 in local mode) */
    private static void measure(List<RoundCost.Point> points, Map<String, Double> perTask, String url, String name,
                                int cores, int executors, long[] sizes, int[] shards, int reps) {
        SparkSession spark = SparkSession.builder().master(url).appName("sparkprop-bench-scaling")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.task.maxDirectResultSize", "64m")
                .config("spark.executor.memory", "1g")
                .config("spark.executor.extraClassPath", System.getProperty("sparkprop.executorClassPath", ""))
                .config("spark.executorEnv.OPENBLAS_NUM_THREADS", "1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            // the executors register asynchronously: wait for all cores before timing anything
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            // getExecutorMemoryStatus counts the driver's block manager too
            while (sc.sc().getExecutorMemoryStatus().size() < executors + 1 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            if (sc.sc().getExecutorMemoryStatus().size() < executors + 1) {
                throw new IllegalStateException(executors + " executors did not register within 120 s");
            }
            RoundCost.measure(sc, name, cores, 1_000, cores, 3); // warm-up
            perTask.put(name, RoundCost.perTaskMillis(sc, reps));
            for (long p : sizes) {
                for (int s : shards) {
                    RoundCost.Point point = RoundCost.measure(sc, name, cores, p, s, reps);
                    System.out.println(point);
                    points.add(point);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            spark.stop();
        }
    }

    /** Multiply-adds ×2 of one example's forward and backward pass: {@code ≈ 6 P}. */
    static double flopsPerExample(NetworkSpec spec) {
        return 6.0 * spec.parameterCount();
    }

    /** One thread's examples/s of the kernel's forward + backward pass on random blocks. */
    static double kernelExamplesPerSecond(NetworkSpec spec, int block) {
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.AUTO.gemm());
        Parameters params = Parameters.initialise(spec, 1);
        SplittableRandom random = new SplittableRandom(3);
        DMatrixRMaj features = new DMatrixRMaj(spec.inputSize(), block);
        for (int i = 0; i < features.data.length; i++) {
            features.data[i] = random.nextDouble();
        }
        DMatrixRMaj targets = new DMatrixRMaj(spec.outputSize(), block);
        for (int j = 0; j < block; j++) {
            targets.set(j % spec.outputSize(), j, 1.0);
        }
        GradientSum sum = new GradientSum(spec);
        double[] rates = new double[5];
        for (int r = -2; r < rates.length; r++) {
            long t0 = System.nanoTime();
            int passes = 0;
            while (System.nanoTime() - t0 < 400_000_000L) {
                kernel.lossAndGradient(params, features, targets, null, sum);
                passes++;
            }
            if (r >= 0) {
                rates[r] = passes * (double) block / ((System.nanoTime() - t0) / 1e9);
            }
        }
        return RoundCost.median(rates);
    }

    /** A standalone master and workers on loopback, from the jars in {@code sparkprop.sparkHome}; stopped by pid. */
    private static final class Cluster implements AutoCloseable {
        private final List<Process> processes = new ArrayList<>();
        private final Path dir;
        private String url;

        private Cluster() throws IOException {
            dir = Files.createTempDirectory("sparkprop-scaling");
        }

        static Cluster start(int workers, int coresEach) throws Exception {
            Cluster c = new Cluster();
            try {
                String home = System.getProperty("sparkprop.sparkHome");
                int masterPort = freePort();
                c.url = "spark://127.0.0.1:" + masterPort;
                c.launch("master", home, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                        Integer.toString(masterPort), "--webui-port", Integer.toString(freePort()));
                awaitPort(masterPort);
                for (int w = 0; w < workers; w++) {
                    c.launch("worker" + w, home, "org.apache.spark.deploy.worker.Worker", c.url, "--host",
                            "127.0.0.1", "--cores", Integer.toString(coresEach), "--memory", "2g", "--work-dir",
                            c.dir.resolve("work" + w).toString(), "--webui-port", Integer.toString(freePort()));
                }
                Thread.sleep(3000); // the workers register with the master
                return c;
            } catch (Exception e) {
                c.close();
                throw e;
            }
        }

        private void launch(String name, String home, String main, String... args) throws IOException {
            ProcessBuilder pb = new ProcessBuilder(ChildJvm.command("1g", home + File.separator + "jars"
                    + File.separator + "*", main, args));
            pb.environment().putAll(Map.of("SPARK_HOME", home, "SPARK_SCALA_VERSION", "2.13",
                    "OPENBLAS_NUM_THREADS", "1", "SPARK_LOCAL_IP", "127.0.0.1"));
            pb.redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
            processes.add(pb.start());
        }

        private static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0)) {
                return s.getLocalPort();
            }
        }

        private static void awaitPort(int port) throws Exception {
            for (int i = 0; i < 300; i++) {
                try (Socket s = new Socket("127.0.0.1", port)) {
                    return;
                } catch (IOException notYet) {
                    Thread.sleep(200);
                }
            }
            throw new IllegalStateException("the master did not start on port " + port);
        }

        @Override
        public void close() throws InterruptedException {
            for (int i = processes.size() - 1; i >= 0; i--) {
                Process p = processes.get(i);
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            processes.clear();
        }
    }
}
